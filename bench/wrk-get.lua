-- wrk-get.lua: GET with extra headers given as script arguments.
-- usage: wrk ... -s wrk-get.lua URL -- "Header: value" ...
function init(args)
   wrk.method = "GET"
   for i = 1, #args do
      local k, v = args[i]:match("^([^:]+):%s*(.*)$")
      if k then wrk.headers[k] = v end
   end
end
