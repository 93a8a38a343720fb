-- SPDX-License-Identifier: ISC
-- stages.lua - miltertest script driving "postern milter" through one
-- case, chosen with -D case=NAME; -D sock=SPEC names the milter socket
-- (started and stopped by the pytest, tests/integ/test_milter.py).
-- miltertest hides Lua errors, so every case runs under xpcall and the
-- outcome is printed: "RESULT name=value" lines, then "ALL OK" or
-- "TEST FAILED: why".

local conn

local function check(err)
  if err ~= nil then error(err, 2) end
end

-- Steps the milter negotiated away are skipped, as an MTA skips them.
local function step(opt, fn, ...)
  if opt ~= nil and mt.test_option(conn, opt) then return end
  check(fn(conn, ...))
end

local function reply() return mt.getreply(conn) end

local function expect(want, what)
  local got = reply()
  if got ~= want then
    error(string.format("%s: reply %q, want %q", what, string.char(got),
        string.char(want)), 2)
  end
end

local function open(ip)
  conn = mt.connect(sock, 40, 0.25)
  if conn == nil then error("mt.connect(" .. sock .. ") failed") end
  check(mt.conninfo(conn, "client.example.net", ip))
end

local function envelope(from, qid, auth)
  step(SMFIP_NOHELO, mt.helo, "client.example.net")
  if qid ~= nil then check(mt.macro(conn, SMFIC_MAIL, "i", qid)) end
  if auth ~= nil then
    check(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", auth))
  end
  step(nil, mt.mailfrom, "<" .. from .. ">")
  expect(SMFIR_CONTINUE, "MAIL")
  step(SMFIP_NORCPT, mt.rcptto, "<rcpt@example.com>")
  expect(SMFIR_CONTINUE, "RCPT")
  step(SMFIP_NODATA, mt.data)
end

-- miltertest writes "Name: value" like sendmail: with SMFIP_HDR_LEADSPC
-- negotiated the filter gets the value with that space.
local function headers(list)
  for _, h in ipairs(list) do step(SMFIP_NOHDRS, mt.header, h[1], h[2]) end
  step(SMFIP_NOEOH, mt.eoh)
end

local function result(name, value)
  value = value:gsub("\r", "\\r"):gsub("\n", "\\n")
  mt.echo("RESULT " .. name .. "=" .. value)
end

local SIGNED = {
  { "From", "Alice <alice@sign.example>" },
  { "To", "<rcpt@example.com>" },
  { "Subject", "signed by\n\tthe milter" },
  { "Date", "Thu, 03 Dec 2026 10:00:00 +0000" },
  { "Message-ID", "<milter-sign@example.org>" },
  { "Authentication-Results", "postern.test; dkim=pass header.d=forged" },
  { "Authentication-Results", "other.example; spf=pass" },
}
local BODY = "Hello.\r\nSecond line.\r\n"

local cases = {}

-- iplist deny: the connection is refused with our reply.
function cases.deny()
  open("192.0.2.1")
  expect(SMFIR_REPLYCODE, "connect")
end

-- The same client, let in (a reload took it off the deny list).
function cases.notdenied()
  open("192.0.2.1")
  expect(SMFIR_CONTINUE, "connect")
end

-- A regex body rule: refused at a body chunk or at end of message.
function cases.regex()
  open("127.0.0.1")
  expect(SMFIR_CONTINUE, "connect")
  envelope("bob@example.org")
  headers({ { "From", "<bob@example.org>" }, { "Subject", "offer" } })
  step(SMFIP_NOBODY, mt.bodystring, "Play at our casino tonight.\r\n")
  if mt.test_option(conn, SMFIP_NOBODY) or reply() == SMFIR_CONTINUE then
    check(mt.eom(conn))
  end
  expect(SMFIR_REPLYCODE, "content")
end

-- dkim_sign: DKIM-Signature inserted at the top and no A-R of ours (the
-- message is outbound), the forged A-R (the first of the two) deleted.  The header fields the MTA keeps
-- and the body are printed, for the pytest to verify the signature.
function cases.sign()
  open("127.0.0.1")
  expect(SMFIR_CONTINUE, "connect")
  envelope("alice@sign.example", "QID4711")
  headers(SIGNED)
  step(SMFIP_NOBODY, mt.bodystring, BODY)
  check(mt.eom(conn))
  expect(SMFIR_ACCEPT, "eom")
  local sig = mt.getheader(conn, "DKIM-Signature", 0)
  if sig == nil then error("DKIM-Signature not inserted") end
  assert(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature", sig, 0),
      "DKIM-Signature not at index 0")
  -- outbound mail carries no Authentication-Results of ours
  assert(not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results"),
      "Authentication-Results inserted into outbound mail")
  assert(mt.eom_check(conn, MT_HDRCHANGE, "Authentication-Results"),
      "forged Authentication-Results not removed")
  result("sig", sig)
  for _, h in ipairs(SIGNED) do
    if h[2]:find("forged", 1, true) == nil then
      result("hdr", h[1] .. ": " .. h[2])
    end
  end
  result("body", BODY)
end

-- Outbound by {auth_authen}: a client outside internal_hosts is signed
-- only when the MTA says it authenticated.
local function outbound(auth)
  open("198.51.100.7")
  expect(SMFIR_CONTINUE, "connect")
  envelope("alice@sign.example", nil, auth)
  headers(SIGNED)
  step(SMFIP_NOBODY, mt.bodystring, BODY)
  check(mt.eom(conn))
  expect(SMFIR_ACCEPT, "eom")
  result("signed", tostring(mt.eom_check(conn, MT_HDRINSERT,
      "DKIM-Signature")))
end

-- dmarc: a message From -D from=ADDR, sent by 192.0.2.99 (no SPF pass
-- for its envelope, no signature): the reply letter, and on an accept
-- the X-Postern-DMARC and Authentication-Results fields inserted.
function cases.dmarc()
  open("192.0.2.99")
  expect(SMFIR_CONTINUE, "connect")
  envelope("x@nospf.example")
  headers({ { "From", "Alice <" .. from .. ">" }, { "Subject", "dmarc" } })
  step(SMFIP_NOBODY, mt.bodystring, BODY)
  check(mt.eom(conn))
  local r = reply()
  result("reply", string.char(r))
  if r == SMFIR_ACCEPT or r == SMFIR_CONTINUE then
    result("tag", tostring(mt.getheader(conn, "X-Postern-DMARC", 0)))
    result("ar", tostring(mt.getheader(conn, "Authentication-Results", 0)))
  end
end

function cases.auth() outbound("alice") end
function cases.noauth() outbound(nil) end

local function main()
  local fn = cases[case]
  if fn == nil then error("no case " .. tostring(case)) end
  fn()
  mt.disconnect(conn)
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  mt.echo("TEST FAILED: " .. tostring(err))
  error(err)
end
mt.echo("ALL OK")
