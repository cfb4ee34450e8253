// Command plugin-linux-amd64 is the server half of the Mattermost PagerDuty
// plugin. It adapts Mattermost's plugin hooks to the Rust core linked in
// through cgo (see pagerduty_core.h) and performs the Mattermost API calls
// the core requests. It holds no business logic of its own.
package main

import "github.com/mattermost/mattermost/server/public/plugin"

func main() {
	plugin.ClientMain(&Plugin{})
}
