#!/usr/bin/env bash
# Prepares a machine for the end-to-end tests in tests/e2e:
#   - installs Chromium and PostgreSQL from Debian when they are missing,
#   - downloads the Go modules that tests/e2e builds,
#   - builds the pinned Mattermost server into a cache outside the repository.
#
# Safe to run again: each step is skipped when its result is already there.
# Environment:
#   PD_CACHE_DIR  cache root (default: $HOME/.cache/mattermost-pagerduty)
set -euo pipefail
# Without this, a failing command inside $(build_mattermost) would not stop the script.
shopt -s inherit_errexit

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
e2e_dir="$repo_root/tests/e2e"
server_module="github.com/mattermost/mattermost/server/v8"

log() {
	echo "setup: $*" >&2
}

run_as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		log "cannot run '$*': not root and sudo is missing"
		exit 1
	fi
}

postgres_bin_dir() {
	# Debian installs each major version under its own directory. The
	# newest one wins, matching what the test harness picks.
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

install_system_packages() {
	local packages=()

	if [ ! -x /usr/bin/chromium ]; then
		packages+=(chromium)
	fi
	if [ -z "$(postgres_bin_dir)" ]; then
		packages+=(postgresql)

		# The tests start their own throwaway clusters, so keep the package
		# from creating and starting the default cluster on port 5432. The
		# createcluster.conf of postgresql-common includes this folder.
		run_as_root mkdir -p /etc/postgresql-common/createcluster.d
		echo "create_main_cluster = false" |
			run_as_root tee /etc/postgresql-common/createcluster.d/pd-e2e-no-main-cluster.conf >/dev/null
	fi

	if [ "${#packages[@]}" -eq 0 ]; then
		return
	fi

	log "installing ${packages[*]} with apt-get"
	local apt_log
	apt_log="$(mktemp)"
	# apt-get prints progress even with -qq, so its output is shown only on failure.
	if ! {
		run_as_root apt-get update -qq &&
			run_as_root env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends "${packages[@]}"
	} >"$apt_log" 2>&1; then
		cat "$apt_log" >&2
		rm -f "$apt_log"
		log "apt-get failed to install ${packages[*]}"
		exit 1
	fi
	rm -f "$apt_log"
}

build_mattermost() {
	local version module_dir server_dir
	version="$(go list -m -f '{{.Version}}' "$server_module")"
	server_dir="${PD_CACHE_DIR:-$HOME/.cache/mattermost-pagerduty}/mattermost-$version"

	if [ -x "$server_dir/bin/mattermost" ]; then
		echo "$server_dir"
		return
	fi

	log "building $server_module@$version (several minutes on a cold Go cache)"
	module_dir="$(go list -m -f '{{.Dir}}' "$server_module")"
	mkdir -p "$server_dir/bin" "$server_dir/client"

	# The server looks up i18n/, templates/ and fonts/ in its working
	# directory, where the harness links these copies. Copies survive
	# `go clean -modcache`. Files in the module cache are read-only, so the
	# copies are made writable to let `rm -rf` remove the cache later.
	for asset in i18n templates fonts; do
		rm -rf "${server_dir:?}/$asset"
		cp -R "$module_dir/$asset" "$server_dir/$asset"
		chmod -R u+w "$server_dir/$asset"
	done

	# Build under a temporary name so an interrupted build leaves no binary
	# that a later run would take as finished.
	go build -trimpath -o "$server_dir/bin/mattermost.partial" "$server_module/cmd/mattermost"
	mv "$server_dir/bin/mattermost.partial" "$server_dir/bin/mattermost"
	echo "$server_dir"
}

install_system_packages

cd "$e2e_dir"
# Download only the modules that the server binary and the test packages
# import. `go mod download` would also fetch those that go.mod lists for the
# server's enterprise build tags.
go list -deps -test ./... >/dev/null
go list -deps "$server_module/cmd/mattermost" >/dev/null
server_dir="$(build_mattermost)"

echo "mattermost: $server_dir/bin/mattermost"
echo "postgresql: $(postgres_bin_dir)"
echo "chromium:   /usr/bin/chromium"
