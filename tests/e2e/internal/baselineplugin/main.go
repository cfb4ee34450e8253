// Command baselineplugin is a minimal pure-Go Mattermost plugin that the
// server benchmark (bench_test.go) measures next to the PagerDuty plugin.
// Its `/pdbase help` does the work that `/pd help` does in the Rust core,
// one permission check through the plugin API and an ephemeral reply, so
// the latency ratio shows what the core and its C ABI add.
package main

import (
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// configuration holds the reply texts, which the benchmark copies from live
// `/pd help` replies into this plugin's settings.
type configuration struct {
	HelpText      string
	AdminHelpText string
}

type baselinePlugin struct {
	plugin.MattermostPlugin

	mu     sync.RWMutex
	config configuration
}

func (p *baselinePlugin) OnActivate() error {
	return p.API.RegisterCommand(&model.Command{
		Trigger:          "pdbase",
		AutoComplete:     true,
		AutoCompleteDesc: "Replies with the PagerDuty help text (benchmark baseline).",
	})
}

func (p *baselinePlugin) OnConfigurationChange() error {
	var config configuration
	if err := p.API.LoadPluginConfiguration(&config); err != nil {
		return err
	}
	p.mu.Lock()
	p.config = config
	p.mu.Unlock()
	return nil
}

// ExecuteCommand returns the admin or non-admin help text, chosen by the same
// manage_system permission check that the PagerDuty plugin makes.
func (p *baselinePlugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	isAdmin := p.API.HasPermissionTo(args.UserId, model.PermissionManageSystem)
	p.mu.RLock()
	text := p.config.HelpText
	if isAdmin {
		text = p.config.AdminHelpText
	}
	p.mu.RUnlock()
	return &model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: text}, nil
}

func main() {
	plugin.ClientMain(&baselinePlugin{})
}
