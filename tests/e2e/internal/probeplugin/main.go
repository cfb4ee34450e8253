// Command probeplugin is a minimal Mattermost plugin that the harness smoke
// test installs to check the plugin paths that the real plugin relies on:
// slash commands, ephemeral posts, interactive dialogs, plugin HTTP routes
// and the KV store.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// pluginID must match the id in the manifest that the smoke test writes.
const pluginID = "harness-probe"

// KV keys that the /dialog route writes and the smoke test reads.
const (
	keyDialogHeaderUser = "dialog-header-user"
	keyDialogBodyUser   = "dialog-body-user"
	keyDialogName       = "dialog-name"
)

type probePlugin struct {
	plugin.MattermostPlugin
}

func (p *probePlugin) OnActivate() error {
	return p.API.RegisterCommand(&model.Command{
		Trigger:          "probe",
		AutoComplete:     true,
		AutoCompleteDesc: "Opens the harness probe dialog.",
	})
}

// ExecuteCommand sends an ephemeral post and opens a dialog that submits to
// the plugin's /dialog route.
func (p *probePlugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	p.API.SendEphemeralPost(args.UserId, &model.Post{
		ChannelId: args.ChannelId,
		Message:   "probe ephemeral",
	})

	err := p.API.OpenInteractiveDialog(model.OpenDialogRequest{
		TriggerId: args.TriggerId,
		URL:       "/plugins/" + pluginID + "/dialog",
		Dialog: model.Dialog{
			CallbackId: "probe",
			Title:      "Probe",
			State:      "probe-state",
			Elements: []model.DialogElement{
				{DisplayName: "Name", Name: "name", Type: "text"},
			},
		},
	})
	if err != nil {
		return nil, err
	}
	return &model.CommandResponse{}, nil
}

// ServeHTTP serves /whoami, which returns the Mattermost-User-Id header that
// the server set, and /dialog, which stores who submitted the dialog.
func (p *probePlugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/whoami":
		fmt.Fprint(w, "user:"+r.Header.Get("Mattermost-User-Id"))
	case "/dialog":
		var submission model.SubmitDialogRequest
		if err := json.NewDecoder(r.Body).Decode(&submission); err != nil {
			http.Error(w, "invalid dialog submission: "+err.Error(), http.StatusBadRequest)
			return
		}
		name, _ := submission.Submission["name"].(string)
		values := map[string]string{
			keyDialogHeaderUser: r.Header.Get("Mattermost-User-Id"),
			keyDialogBodyUser:   submission.UserId,
			keyDialogName:       name,
		}
		for key, value := range values {
			if err := p.API.KVSet(key, []byte(value)); err != nil {
				http.Error(w, "store "+key+": "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "{}")
	default:
		http.NotFound(w, r)
	}
}

func main() {
	plugin.ClientMain(&probePlugin{})
}
