"""The instance bootstrap: shell commands, systemd unit and CloudWatch agent config.

Pure text rendering. Values may be CDK tokens (resolved by CloudFormation before the instance
runs the script); none of them is a secret: the launcher fetches secrets at service start.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence

INSTALL_DIR = "/opt/mlflow"
VENV_DIR = f"{INSTALL_DIR}/venv"
LAUNCHER_PATH = f"{INSTALL_DIR}/launcher.py"
#: The constraints file pinning every package of the virtual environment, kept for operators.
CONSTRAINTS_PATH = f"{INSTALL_DIR}/constraints.txt"
ENV_FILE = "/etc/mlflow/launcher.env"
STATE_DIR = "/var/lib/mlflow"
LOG_DIR = "/var/log/mlflow"
LOG_FILE = f"{LOG_DIR}/server.log"
SERVICE_USER = "mlflow"
SERVICE_NAME = "mlflow.service"
AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/mlflow.json"
#: Amazon Linux 2023 packages the bootstrap installs.
OS_PACKAGES: tuple[str, ...] = (
    "python3.11",
    "python3.11-pip",
    "amazon-cloudwatch-agent",
    "aws-cfn-bootstrap",
    "logrotate",
)


def systemd_unit() -> str:
    """The service that runs the launcher, which replaces itself with ``mlflow server``."""
    return f"""[Unit]
Description=MLflow tracking server (mlpipes)
Wants=network-online.target
After=network-online.target

[Service]
User={SERVICE_USER}
Group={SERVICE_USER}
EnvironmentFile={ENV_FILE}
WorkingDirectory={STATE_DIR}
ExecStart={VENV_DIR}/bin/python {LAUNCHER_PATH}
Restart=always
RestartSec=10
StandardOutput=append:{LOG_FILE}
StandardError=inherit
UMask=0077
NoNewPrivileges=true
PrivateTmp=true
ProtectSystem=strict
ProtectHome=true
ReadWritePaths={STATE_DIR} {LOG_DIR}

[Install]
WantedBy=multi-user.target
"""


def environment_file(settings: Mapping[str, str]) -> str:
    """``KEY=value`` lines for systemd's ``EnvironmentFile``."""
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def agent_config(log_group_name: str) -> str:
    """CloudWatch agent config shipping the server log and the bootstrap log."""
    streams = ((LOG_FILE, "mlflow-server"), ("/var/log/cloud-init-output.log", "bootstrap"))
    config = {
        "agent": {"run_as_user": "root"},
        "logs": {
            "logs_collected": {
                "files": {
                    "collect_list": [
                        {
                            "file_path": path,
                            "log_group_name": log_group_name,
                            "log_stream_name": f"{{instance_id}}/{stream}",
                        }
                        for path, stream in streams
                    ]
                }
            }
        },
    }
    return json.dumps(config, indent=2) + "\n"


def logrotate_config() -> str:
    return f"""{LOG_FILE} {{
    daily
    rotate 7
    compress
    missingok
    notifempty
    copytruncate
}}
"""


def _write_file(path: str, content: str, mode: str) -> list[str]:
    marker = "MLPIPES_EOF"
    return [f"cat > {path} <<'{marker}'\n{content}{marker}", f"chmod {mode} {path}"]


def prepare_commands() -> list[str]:
    """Install the OS packages and Python, create the service user and its directories."""
    return [
        "set -euo pipefail",
        f"dnf install -y {' '.join(OS_PACKAGES)}",
        f"id -u {SERVICE_USER} >/dev/null 2>&1 || useradd --system --home-dir {STATE_DIR} "
        f"--shell /sbin/nologin {SERVICE_USER}",
        f"install -d -o {SERVICE_USER} -g {SERVICE_USER} -m 0700 {STATE_DIR}",
        f"install -d -o {SERVICE_USER} -g {SERVICE_USER} -m 0750 {LOG_DIR}",
        f"install -d -m 0755 {INSTALL_DIR} /etc/mlflow",
    ]


def install_commands(requirements: Sequence[str], *, constraints: str | None) -> list[str]:
    """Create the virtual environment and install the pinned packages into it.

    With ``constraints`` (a file already on the instance), every package pip installs, not just
    the top-level ones, gets the version that file pins.
    """
    pinned = " ".join(shlex.quote(requirement) for requirement in requirements)
    constrained = "" if constraints is None else f"--constraint {shlex.quote(constraints)} "
    return [
        f"python3.11 -m venv {VENV_DIR}",
        f"{VENV_DIR}/bin/pip install --no-cache-dir --disable-pip-version-check "
        f"{constrained}{pinned}",
    ]


def configure_commands(
    *, launcher_settings: Mapping[str, str], log_group_name: str, port: int
) -> list[str]:
    """Write the service configuration, start log shipping and the service, wait for health."""
    return [
        f"chmod 0644 {LAUNCHER_PATH}",
        *_write_file(ENV_FILE, environment_file(launcher_settings), "0644"),
        *_write_file(f"/etc/systemd/system/{SERVICE_NAME}", systemd_unit(), "0644"),
        *_write_file("/etc/logrotate.d/mlflow", logrotate_config(), "0644"),
        f"touch {LOG_FILE} && chown {SERVICE_USER}:{SERVICE_USER} {LOG_FILE}",
        *_write_file(AGENT_CONFIG, agent_config(log_group_name), "0644"),
        "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config "
        f"-m ec2 -s -c file:{AGENT_CONFIG}",
        "systemctl daemon-reload",
        f"systemctl enable --now {SERVICE_NAME}",
        # Signal CloudFormation (on exit) only once the server answers its health check.
        f"for attempt in $(seq 1 60); do curl -fsS http://127.0.0.1:{port}/health && exit 0; "
        "sleep 10; done; exit 1",
    ]
