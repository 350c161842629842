"""The replica layouts: deploy/compose.yaml + deploy/nginx-compose.conf (N replicas behind one proxy,
sticky by cookie) and deploy/nginx.conf (deploy/run_replicas.sh). No Docker daemon is needed: the compose
file is parsed and its variables expanded as Compose does, and nginx checks the proxy configs' syntax."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")  # pinned in requirements-dev.txt

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
VAR = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def expand(value, env: dict):
    """Compose's interpolation of ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` (recursively)."""
    if isinstance(value, dict):
        return {k: expand(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m):
        name, op, arg = m.groups()
        if env.get(name):
            return env[name]
        if op == "?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""
    return VAR.sub(one, value)


def compose(env: dict) -> dict:
    return expand(yaml.safe_load((DEPLOY / "compose.yaml").read_text()), env)


def test_compose_starts_n_replicas_behind_one_proxy():
    cfg = compose({"STREAMLIT_SERVER_COOKIE_SECRET": "s" * 64, "DLV_REPLICAS": "6"})
    app, proxy = cfg["services"]["app"], cfg["services"]["proxy"]
    assert int(app["deploy"]["replicas"]) == 6
    assert int(compose({"STREAMLIT_SERVER_COOKIE_SECRET": "x"})["services"]["app"]["deploy"]["replicas"]) == 4
    assert app["deploy"]["endpoint_mode"] == "dnsrr"  # Swarm: the proxy sees every replica, not one VIP
    assert app["environment"]["STREAMLIT_SERVER_COOKIE_SECRET"] == "s" * 64
    assert (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert "ports" not in app, "replicas are reached through the proxy only"
    (published,) = proxy["ports"]
    assert published == "8080:8080"
    conf_host, conf_in, _ = proxy["volumes"][0].split(":")
    assert (DEPLOY / conf_host).exists() and conf_in == "/etc/nginx/conf.d/default.conf"
    assert "listen 8080;" in (DEPLOY / conf_host).read_text()
    version = re.search(r"nginx:(\d+)\.(\d+)", proxy["image"]).groups()
    assert tuple(map(int, version)) >= (1, 27), "'server ... resolve' in an upstream needs nginx >= 1.27.3"


def test_compose_refuses_to_start_without_a_shared_cookie_secret():
    with pytest.raises(KeyError, match="STREAMLIT_SERVER_COOKIE_SECRET"):
        compose({})


@pytest.mark.parametrize("name", ["nginx.conf", "nginx-compose.conf"])
def test_proxies_stick_by_cookie_never_by_address(name):
    conf = (DEPLOY / name).read_text()
    code = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())  # comments may say "never $remote_addr"
    assert "ip_hash" not in code
    (hash_line,) = [line.strip() for line in code.splitlines() if line.strip().startswith("hash ")]
    assert hash_line == "hash $dlv_route consistent;"
    assert "map $cookie_dlv_route $dlv_route" in code and "$request_id" in code  # first visit: a random route
    assert "add_header Set-Cookie $dlv_set_cookie always;" in code
    assert "proxy_set_header Upgrade $http_upgrade;" in code  # Streamlit's websocket


@pytest.mark.parametrize("name", ["nginx.conf", "nginx-compose.conf"])
def test_nginx_accepts_the_proxy_configs(name, tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    conf = (DEPLOY / name).read_text()
    # An older local nginx (Debian 12: 1.22) lacks upstream "resolve" (1.27.3) and cannot resolve the
    # compose service name: check everything else with the replica as a local address.
    conf = conf.replace("server app:8501 resolve;", "server 127.0.0.1:8501;").replace("zone dlv_replicas 64k;", "")
    (tmp_path / "site.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}/b; proxy_temp_path {tmp_path}/p; "
        f"fastcgi_temp_path {tmp_path}/f; uwsgi_temp_path {tmp_path}/u; scgi_temp_path {tmp_path}/s; "
        f"include {tmp_path}/site.conf; }}\n")
    out = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
