# The test environment: sourced by the demo, the benchmark and the tests, never meant for a shell used on real
# hosts. It puts the project's CLI first on PATH and sets: PULUMI_SKIP_CONFIRMATIONS=true (`up` and `destroy` do
# not ask), PULUMI_NODEJS_TRANSPILE_ONLY=true (no type check of programs), no update check, no automatic plugin
# downloads, no Automation API version check, PULUMI_HOME in the project's cache, PULUMI_CONFIG_PASSPHRASE empty
# unless set. The caller still chooses the backend folder (PULUMI_BACKEND_URL) for its own stacks. CONTRIBUTING.md
# lists each variable and why.
_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=toolchain/versions.env
. "$_here/toolchain/versions.env"
PULUMI_ATOMIC_HOST_CACHE="${PULUMI_ATOMIC_HOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-atomic-host}"
PULUMI_CLI_DIR="$PULUMI_ATOMIC_HOST_CACHE/pulumi-cli/v$PULUMI_CLI_VERSION/bin"
if [ -f "$PULUMI_ATOMIC_HOST_CACHE/pulumi-bin-dir" ]; then
  PULUMI_CLI_DIR="$(cat "$PULUMI_ATOMIC_HOST_CACHE/pulumi-bin-dir")"
fi
export PULUMI_ATOMIC_HOST_CACHE PULUMI_CLI_DIR
export PATH="$PULUMI_CLI_DIR:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_SKIP_CONFIRMATIONS=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
export PULUMI_HOME="${PULUMI_HOME:-$PULUMI_ATOMIC_HOST_CACHE/pulumi-home}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
unset _here
export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
