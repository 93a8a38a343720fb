# SPDX-License-Identifier: ISC
"""The metrics endpoint (issue 17): after scripted sends through the proxy
the counters hold exactly what happened (each action and the stage that
decided it, each filter's results, rule and list hits, refusal reasons,
connections, latency counts), DNS lookups and cache hits through a real
unbound, the same counters from postern milter under miltertest, reload
counters, GET /stats and `postern stats`, promtool's lint of the output,
and 200 concurrent scrapes while mail flows."""
import json
import os
import re
import signal
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

import conftest
import peers
from peers import make_message, stuff, wait_for
from test_milter import miltertest
from test_proxyproto import pp_client, v1

RULES = r"""
SUBJ_CASINO	header:Subject	/\bcasino\b/i	reject
BODY_HINT	body		/\bcheap\b/i	score 2
BODY_CASINO	body		/\bcasino\b/i	reject
"""

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(port, path="/metrics", timeout=10):
    url = "http://%s:%d%s" % (peers.LOOP_HOST, port, path)
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def parse(text):
    """{(name, frozenset of (label, value)): float} of every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def family(samples, name):
    """{labels dict as sorted tuple: value} of one family."""
    return {tuple(sorted(k[1])): v for k, v in samples.items()
            if k[0] == name}


@pytest.fixture
def rules(workdir):
    path = os.path.join(workdir, "metrics.rules")
    with open(path, "w") as f:
        f.write(RULES)
    return path


def metrics_proxy(proxy, rules, **more):
    port = peers.free_port()
    o = {"filters.chain": "iplist regex", "regex.rules": rules,
         "iplist.sender_deny": "spam@example.net",
         "metrics.listen": "%s:%d" % (peers.LOOP_HOST, port)}
    o.update(more)
    p, f = proxy(**o)
    p.metrics_port = port
    return p, f


def send(p, sender, subject, body="hello", rset=False):
    with p.client() as c:
        assert c.ehlo().code == 250
        if rset:
            assert c.cmd("MAIL FROM:<%s>" % sender).code == 250
            assert c.cmd("RSET").code == 250
            return None
        for cmd, want in (("MAIL FROM:<%s>" % sender, 250),
                          ("RCPT TO:<rcpt@example.com>", 250),
                          ("DATA", 354)):
            r = c.cmd(cmd)
            if r.code != want:
                return r
        c.send(stuff(make_message(subject, [body])) + b".\r\n")
        r = c.reply()
        c.cmd("QUIT")
        return r


def test_counters_after_scripted_sends(proxy, rules):
    p, f = metrics_proxy(proxy, rules)
    assert send(p, "a@example.org", "plain").code == 250
    assert send(p, "a@example.org", "deal", "cheap stuff").code == 250
    r = send(p, "spam@example.net", "x")
    assert r.code == 550, r
    r = send(p, "a@example.org", "casino night")
    assert r.code == 550, r
    send(p, "a@example.org", None, rset=True)
    f.wait_count(2)
    wait_for(lambda: value(parse(scrape(p.metrics_port)[2]),
                           "postern_connections") == 0, 10,
             what="every connection closed")
    status, ctype, text = scrape(p.metrics_port)
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    s = parse(text)
    assert family(s, "postern_transactions_total") == {
        (("action", "relayed"), ("stage", "eom")): 2,
        (("action", "rejected"), ("stage", "mail")): 1,
        (("action", "rejected"), ("stage", "header")): 1,
        (("action", "aborted"), ("stage", "mail")): 1}, text
    assert family(s, "postern_refusals_total") == {
        (("reason", "iplist"),): 1, (("reason", "regex"),): 1}
    assert family(s, "postern_regex_rule_hits_total") == {
        (("rule", "SUBJ_CASINO"),): 1, (("rule", "BODY_HINT"),): 1}
    assert family(s, "postern_iplist_hits_total") == {
        (("list", "sender_deny"),): 1}
    assert value(s, "postern_filter_results_total", filter="iplist",
                 result="sender-deny") == 1
    assert value(s, "postern_connections_total") == 5
    assert value(s, "postern_connections") == 0
    assert value(s, "postern_transaction_duration_seconds_count") == 5
    assert value(s, "postern_transaction_duration_seconds_bucket",
                 le="+Inf") == 5
    assert value(s, "postern_backend_eom_duration_seconds_count") == 2
    assert value(s, "postern_filter_duration_seconds_count",
                 filter="iplist", stage="mail") == 5
    assert value(s, "postern_build_info", version=subprocess.run(
        [p.argv[0], "-V"], capture_output=True, text=True
    ).stdout.split()[1]) == 1
    assert value(s, "postern_spool_bytes", where="memory") == 0


def test_output_passes_promtool(proxy, rules):
    p, f = metrics_proxy(proxy, rules)
    assert send(p, "a@example.org", "plain").code == 250
    r = subprocess.run(["promtool", "check", "metrics"],
                       input=scrape(p.metrics_port)[2], text=True,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_other_paths_are_404(proxy, rules):
    p, f = metrics_proxy(proxy, rules)
    with pytest.raises(urllib.error.HTTPError) as e:
        scrape(p.metrics_port, "/metricsx")
    assert e.value.code == 404


def test_stats_summary_and_command(proxy, rules, postern_bin):
    p, f = metrics_proxy(proxy, rules)
    assert send(p, "a@example.org", "plain").code == 250
    assert send(p, "spam@example.net", "x").code == 550
    assert send(p, "spam@example.net", "x").code == 550
    r = subprocess.run([postern_bin, "stats", "-o", "metrics.listen=%s:%d" %
                        (peers.LOOP_HOST, p.metrics_port)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "transactions since start: 1 relayed, 2 rejected, 0 " \
        "tempfailed, 0 discarded, 0 aborted" in out, out
    assert re.search(r"top refusal reasons since start:\n +2  iplist\n",
                     out), out
    assert re.search(r"connections: \d+ open, 3 since start", out), out
    # nobody there: a clear error, exit 1
    r = subprocess.run([postern_bin, "stats", "-o", "metrics.listen=%s:%d" %
                        (peers.LOOP_HOST, peers.free_port())],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "no answer" in r.stderr, r


def test_reload_counters(fakemta, postern, workdir):
    f = fakemta()
    port = peers.free_port()
    conf = os.path.join(workdir, "metrics.conf")
    good = "[metrics]\nlisten = %s:%d\n[filters]\nchain =\n" % (
        peers.LOOP_HOST, port)
    with open(conf, "w") as fp:
        fp.write(good)
    p = postern(f.port, config=conf)
    s = parse(scrape(port)[2])
    assert value(s, "postern_config_generation") == 1
    first = value(s, "postern_config_last_reload_success_timestamp_seconds")
    assert first > 0
    p.signal(signal.SIGHUP)
    p.wait_log(r"configuration reloaded")
    with open(conf, "w") as fp:
        fp.write(good + "[proxy]\nno_such_key = 1\n")
    p.signal(signal.SIGHUP)
    p.wait_log(r"reload refused")
    s = parse(scrape(port)[2])
    assert value(s, "postern_config_generation") == 2
    assert value(s, "postern_config_reloads_total", result="success") == 1
    assert value(s, "postern_config_reloads_total", result="failure") == 1
    assert value(s, "postern_config_last_reload_success_timestamp_seconds"
                 ) >= first


ZONE = [
    "10.2.0.192.bl.example. 300 IN A 127.0.0.2",
    '10.2.0.192.bl.example. 300 IN TXT "listed"',
]


@pytest.fixture(scope="module")
def bl_dns(workroot):
    yield from conftest.zone_dns(workroot, "metrics-dns-", ZONE,
                                 "slow.example.")


def test_dns_lookups_and_cache_hits(proxy, bl_dns):
    port = peers.free_port()
    p, f = proxy(**{"proxy.proxy_protocol": "yes",
                    "dns.nameserver": bl_dns.addr, "filters.chain": "dnsbl",
                    "dnsbl.sites": "bl.example", "dnsbl.timeout": "2s",
                    "metrics.listen": "%s:%d" % (peers.LOOP_HOST, port)})
    for i in range(2):
        c = pp_client(p.port, v1("192.0.2.10"))
        assert c.greeting.code == 554, c.greeting
        c.close()
    s = parse(scrape(port)[2])
    # one A and one TXT lookup; the second client is answered from the
    # filter's cache
    assert family(s, "postern_dns_lookups_total") == {
        (("result", "answer"),): 2}, family(s, "postern_dns_lookups_total")
    assert value(s, "postern_dns_lookup_duration_seconds_count") == 2
    assert value(s, "postern_cache_lookups_total", cache="dnsbl",
                 result="miss") == 1
    assert value(s, "postern_cache_lookups_total", cache="dnsbl",
                 result="hit") == 1
    assert value(s, "postern_connections_refused_total",
                 reason="dnsbl") == 2


def test_milter_counts_the_same(procs, workdir, postern_bin, rules):
    port = peers.free_port()
    m = procs.add(peers.PosternMilter(postern_bin, workdir, {
        "filters.chain": "iplist regex", "iplist.deny": "192.0.2.0/24",
        "regex.rules": rules,
        "metrics.listen": "%s:%d" % (peers.LOOP_HOST, port)}))
    miltertest(m, "deny")
    miltertest(m, "regex")
    s = parse(scrape(port)[2])
    assert value(s, "postern_connections_refused_total",
                 reason="iplist") == 1
    assert value(s, "postern_transactions_total", action="rejected",
                 stage="eom") == 1
    assert family(s, "postern_refusals_total") == {
        (("reason", "iplist"),): 1, (("reason", "regex"),): 1}
    assert value(s, "postern_regex_rule_hits_total", rule="BODY_CASINO") == 1


def test_200_concurrent_scrapes_while_mail_flows(proxy, rules):
    p, f = metrics_proxy(proxy, rules)
    n_mail = 40
    results, errors = [], []

    def mail():
        try:
            for i in range(n_mail):
                assert send(p, "a@example.org", "m%d" % i).code == 250
        except Exception as e:  # reported below
            errors.append(e)

    def one_scrape():
        try:
            status, _, text = scrape(p.metrics_port, timeout=60)
            results.append((status, "postern_build_info" in text))
        except Exception as e:
            errors.append(e)

    sender = threading.Thread(target=mail)
    sender.start()
    scrapers = [threading.Thread(target=one_scrape) for _ in range(200)]
    for t in scrapers:
        t.start()
    for t in scrapers:
        t.join(60)
    sender.join(120)
    assert not sender.is_alive() and not errors, errors[:3]
    assert results == [(200, True)] * 200
    f.wait_count(n_mail)
    s = parse(scrape(p.metrics_port)[2])
    assert value(s, "postern_transactions_total", action="relayed",
                 stage="eom") == n_mail


CONTRIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "..", "contrib")


def test_contrib_rules_and_dashboard_name_real_metrics(proxy, rules):
    alerts = os.path.join(CONTRIB, "prometheus", "alerts.yml")
    r = subprocess.run(["promtool", "check", "rules", alerts],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(CONTRIB, "grafana", "postern.json")) as f:
        dash = f.read()
    json.loads(dash)
    with open(alerts) as f:
        used = set(re.findall(r"\bpostern_[a-z_]+", f.read() + dash))
    p, f = metrics_proxy(proxy, rules)
    families = set(re.findall(r"^# TYPE (\S+) ", scrape(p.metrics_port)[2],
                              re.M))
    for name in used:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in families or base in families, name


def test_readme_lists_exactly_the_metrics(proxy, rules):
    """README's Monitoring table names every family the endpoint has, and
    nothing else."""
    with open(os.path.join(CONTRIB, "..", "README.md")) as f:
        readme = f.read()
    section = readme.split("\n## Monitoring\n", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(postern_[a-z_]+)` \|", section, re.M))
    p, f = metrics_proxy(proxy, rules)
    families = set(re.findall(r"^# TYPE (\S+) ", scrape(p.metrics_port)[2],
                              re.M))
    assert listed == families, (sorted(listed - families),
                                sorted(families - listed))
