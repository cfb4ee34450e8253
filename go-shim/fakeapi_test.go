package main

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// fakeAPI is an in-memory plugin API for fuzz tests and benchmarks, where
// testify mocks would fail on calls they were not set up for and would
// dominate the time measured. Methods that it does not define fall through
// to the nil embedded interface and panic.
// NOTE: a new host op in host.go that calls another plugin API method
// needs that method here too.
type fakeAPI struct {
	plugin.API

	mu       sync.Mutex
	kv       map[string][]byte
	settings map[string]any
	admins   map[string]bool
	siteURL  string
}

func newFakeAPI(settings map[string]any) *fakeAPI {
	return &fakeAPI{
		kv:       map[string][]byte{},
		settings: settings,
		admins:   map[string]bool{"adminuserid000000000000000": true},
		siteURL:  "http://127.0.0.1:8065",
	}
}

// loopbackSettings configures the plugin with identity and REST URLs on a
// closed loopback port, so a token request fails at once on this machine.
func loopbackSettings() map[string]any {
	return map[string]any{
		"clientid":      "fuzz-client",
		"clientsecret":  "fuzz-secret",
		"encryptionkey": "ZnV6eiBrZXkgZm9yIHRlc3RzIG9ubHkgMDAwMDAwMDA=",
		"identityurl":   "http://127.0.0.1:9",
		"apiurl":        "http://127.0.0.1:9",
	}
}

func (f *fakeAPI) LoadPluginConfiguration(dest any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := json.Marshal(f.settings)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, dest)
}

func (f *fakeAPI) SavePluginConfig(config map[string]any) *model.AppError {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settings = config
	return nil
}

func (f *fakeAPI) GetConfig() *model.Config {
	config := &model.Config{}
	config.SetDefaults()
	config.ServiceSettings.SiteURL = model.NewPointer(f.siteURL)
	return config
}

func (f *fakeAPI) KVGet(key string) ([]byte, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.kv[key], nil
}

func (f *fakeAPI) KVSetWithOptions(key string, value []byte, options model.PluginKVSetOptions) (bool, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if options.Atomic {
		current, exists := f.kv[key]
		if options.OldValue == nil && exists || options.OldValue != nil && !bytes.Equal(current, options.OldValue) {
			return false, nil
		}
	}
	f.kv[key] = value
	return true, nil
}

func (f *fakeAPI) KVCompareAndDelete(key string, oldValue []byte) (bool, *model.AppError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	current, exists := f.kv[key]
	if !exists || !bytes.Equal(current, oldValue) {
		return false, nil
	}
	delete(f.kv, key)
	return true, nil
}

func (f *fakeAPI) KVDelete(key string) *model.AppError {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.kv, key)
	return nil
}

func (f *fakeAPI) HasPermissionTo(userID string, _ *model.Permission) bool {
	return f.admins[userID]
}

func (f *fakeAPI) EnsureBotUser(*model.Bot) (string, error) {
	return "botuserid00000000000000000", nil
}

func (f *fakeAPI) RegisterCommand(*model.Command) error { return nil }

func (f *fakeAPI) SendEphemeralPost(_ string, post *model.Post) *model.Post { return post }

func (f *fakeAPI) GetDirectChannel(userID1, userID2 string) (*model.Channel, *model.AppError) {
	return &model.Channel{Id: "dm" + userID1}, nil
}

func (f *fakeAPI) CreatePost(post *model.Post) (*model.Post, *model.AppError) { return post, nil }

func (f *fakeAPI) OpenInteractiveDialog(model.OpenDialogRequest) *model.AppError { return nil }

func (f *fakeAPI) PublishWebSocketEvent(string, map[string]any, *model.WebsocketBroadcast) {}

func (f *fakeAPI) LogDebug(string, ...any) {}
func (f *fakeAPI) LogInfo(string, ...any)  {}
func (f *fakeAPI) LogWarn(string, ...any)  {}
func (f *fakeAPI) LogError(string, ...any) {}

// newActivatedPlugin returns a plugin on a fakeAPI after OnActivate, and
// frees its core when the test ends.
func newActivatedPlugin(tb interface {
	Helper()
	Fatalf(string, ...any)
	Cleanup(func())
}) (*Plugin, *fakeAPI) {
	tb.Helper()
	api := newFakeAPI(loopbackSettings())
	p := &Plugin{}
	p.SetAPI(api)
	if err := p.OnActivate(); err != nil {
		tb.Fatalf("OnActivate: %v", err)
	}
	tb.Cleanup(func() { _ = p.OnDeactivate() })
	return p, api
}
