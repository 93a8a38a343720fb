-- SPDX-License-Identifier: ISC
-- replay.lua - miltertest script: one message, read from -D file=PATH (as
-- a backend received it, CRLF line ends), through the milter at -D
-- sock=SPEC, from the client -D ip=ADDR with the envelope sender -D
-- from=ADDR.  Prints "RESULT reply=LETTER" (the end-of-message reply:
-- y a 5xx/4xx with text, a accept, c continue, ...) and one "RESULT
-- ar=VALUE" per Authentication-Results field the milter inserted, then
-- "ALL OK" or "TEST FAILED: why" (miltertest hides Lua errors).  Used by
-- tests/integ/test_dmarc.py to have the opendmarc milter judge the
-- messages postern judged.

local conn

local function check(err)
  if err ~= nil then error(err, 2) end
end

local function step(opt, fn, ...)
  if opt ~= nil and mt.test_option(conn, opt) then return end
  check(fn(conn, ...))
end

local function read_message(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  local cut = text:find("\r\n\r\n", 1, true)
  if cut == nil then error("no end of header in " .. path) end
  local head, body = text:sub(1, cut + 1), text:sub(cut + 4)
  local fields = {}
  for line in head:gmatch("(.-)\r\n") do
    if line:match("^[ \t]") and #fields > 0 then
      fields[#fields][2] = fields[#fields][2] .. "\r\n" .. line
    else
      local name, value = line:match("^([^:]+):[ \t]?(.*)$")
      if name == nil then error("not a header field: " .. line) end
      fields[#fields + 1] = { name, value }
    end
  end
  return fields, body
end

local function main()
  local fields, body = read_message(file)
  conn = mt.connect(sock, 40, 0.25)
  if conn == nil then error("mt.connect(" .. sock .. ") failed") end
  check(mt.conninfo(conn, "client.example.net", ip))
  step(SMFIP_NOHELO, mt.helo, "client.example")
  step(nil, mt.mailfrom, "<" .. from .. ">")
  step(SMFIP_NORCPT, mt.rcptto, "<rcpt@example.com>")
  step(SMFIP_NODATA, mt.data)
  for _, h in ipairs(fields) do
    step(SMFIP_NOHDRS, mt.header, h[1], h[2])
  end
  step(SMFIP_NOEOH, mt.eoh)
  step(SMFIP_NOBODY, mt.bodystring, body)
  check(mt.eom(conn))
  mt.echo("RESULT reply=" .. string.char(mt.getreply(conn)))
  local n = 0
  while true do
    local ar = mt.getheader(conn, "Authentication-Results", n)
    if ar == nil then break end
    mt.echo("RESULT ar=" .. ar:gsub("\r?\n[ \t]*", " "))
    n = n + 1
  end
  mt.disconnect(conn)
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  mt.echo("TEST FAILED: " .. tostring(err))
  error(err)
end
mt.echo("ALL OK")
