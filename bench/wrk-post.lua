-- wrk-post.lua: POST role creations with unique names (per wrk thread and
-- request) so that every request is a real create, never a duplicate.
-- usage: wrk ... -s wrk-post.lua URL -- PATH partoo|rocketchat PREFIX "Header: value" ...
local counter = 0
local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   path = args[1]
   kind = args[2]
   prefix = args[3]
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   for i = 4, #args do
      local k, v = args[i]:match("^([^:]+):%s*(.*)$")
      if k then wrk.headers[k] = v end
   end
end

function request()
   counter = counter + 1
   local name = string.format("%s-%d-%d", prefix, tid or 0, counter)
   local body
   if kind == "partoo" then
      body = '{"name":"' .. name .. '","api_id":"' .. name ..
         '","description":"a role created by rolesd-bench over HTTP",' ..
         '"permissions":["business_edit","review_read"]}'
   else
      body = '{"name":"' .. name .. '","description":"a role created by rolesd-bench over HTTP",' ..
         '"scope":"Users","mandatory2fa":false}'
   end
   return wrk.format(nil, path, nil, body)
end
