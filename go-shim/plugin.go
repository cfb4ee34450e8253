package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/pluginapi/cluster"
)

// maintenanceInterval is how often the core's link maintenance runs, on one
// server of a cluster at a time.
const maintenanceInterval = time.Hour

// maxRequestBody bounds what ServeHTTP reads from a client; the plugin's
// routes take small JSON dialog submissions only.
const maxRequestBody = 64 * 1024

// hookRequest is the envelope of every hook call to the core, as
// src/core.rs decodes it. A struct encodes faster than a map, whose keys
// encoding/json sorts on every call.
type hookRequest struct {
	Hook   string             `json:"hook"`
	Config map[string]any     `json:"config,omitempty"`
	Args   *model.CommandArgs `json:"args,omitempty"`
	// CallerIsSystemAdmin is the command user's manage_system permission,
	// read before entering the core: the same API call made from inside
	// the cgo call (a host callback) costs far more (see src/core.rs).
	CallerIsSystemAdmin *bool        `json:"caller_is_system_admin,omitempty"`
	Request             *httpRequest `json:"request,omitempty"`
	UserID              string       `json:"user_id,omitempty"`
}

// httpRequest is a plugin route request as the core reads it.
type httpRequest struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Query       string `json:"query"`
	UserID      string `json:"user_id"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
}

// Plugin forwards Mattermost's hooks to the Rust core.
type Plugin struct {
	plugin.MattermostPlugin

	// coreLock guards core: hooks hold it for reading while they call the
	// core, and OnDeactivate holds it for writing while it frees the core.
	coreLock sync.RWMutex
	core     *core

	// maintenanceJob runs the core's link maintenance; nil before activation.
	maintenanceJob *cluster.Job
}

// withCore runs fn with the core, creating it on first use because
// Mattermost calls OnConfigurationChange before OnActivate. The core cannot
// be freed while fn runs.
func (p *Plugin) withCore(fn func(c *core) error) error {
	p.coreLock.RLock()
	if p.core == nil {
		p.coreLock.RUnlock()
		p.coreLock.Lock()
		if p.core == nil {
			created, err := newCore()
			if err != nil {
				p.coreLock.Unlock()
				return err
			}
			p.core = created
		}
		p.coreLock.Unlock()
		p.coreLock.RLock()
	}
	defer p.coreLock.RUnlock()
	if p.core == nil {
		return errors.New("the PagerDuty plugin core was stopped")
	}
	return fn(p.core)
}

// callCore forwards one hook request to the core.
func (p *Plugin) callCore(request any, reply any) error {
	return p.withCore(func(c *core) error {
		return c.call(&hostAPI{api: p.API}, request, reply)
	})
}

func (p *Plugin) loadSettings() (map[string]any, error) {
	settings := map[string]any{}
	if err := p.API.LoadPluginConfiguration(&settings); err != nil {
		return nil, err
	}
	return settings, nil
}

// OnActivate is called by the server when the plugin is enabled.
func (p *Plugin) OnActivate() error {
	settings, err := p.loadSettings()
	if err != nil {
		return err
	}
	if err := p.callCore(hookRequest{Hook: "activate", Config: settings}, nil); err != nil {
		return err
	}
	job, err := cluster.Schedule(p.API, "link_maintenance", cluster.MakeWaitForRoundedInterval(maintenanceInterval), p.runMaintenance)
	if err != nil {
		return fmt.Errorf("failed to schedule link maintenance: %w", err)
	}
	p.maintenanceJob = job
	return nil
}

// runMaintenance is the cluster job's callback.
func (p *Plugin) runMaintenance() {
	if err := p.callCore(hookRequest{Hook: "run_maintenance"}, nil); err != nil {
		p.API.LogError("PagerDuty link maintenance failed", "err", err)
	}
}

// OnConfigurationChange is called by the server when the plugin's settings
// change, and once before OnActivate.
func (p *Plugin) OnConfigurationChange() error {
	settings, err := p.loadSettings()
	if err != nil {
		return err
	}
	return p.callCore(hookRequest{Hook: "configuration_change", Config: settings}, nil)
}

// OnDeactivate is called by the server when the plugin is disabled.
func (p *Plugin) OnDeactivate() error {
	if p.maintenanceJob != nil {
		if err := p.maintenanceJob.Close(); err != nil {
			p.API.LogWarn("Failed to stop link maintenance", "err", err)
		}
		p.maintenanceJob = nil
	}
	err := p.callCore(hookRequest{Hook: "deactivate"}, nil)
	p.coreLock.Lock()
	defer p.coreLock.Unlock()
	if p.core != nil {
		p.core.free()
		p.core = nil
	}
	return err
}

// ExecuteCommand is called by the server for /pd.
func (p *Plugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	var reply struct {
		Response *model.CommandResponse `json:"response"`
	}
	isAdmin := p.API.HasPermissionTo(args.UserId, model.PermissionManageSystem)
	err := p.callCore(hookRequest{Hook: "execute_command", Args: args, CallerIsSystemAdmin: &isAdmin}, &reply)
	if err != nil || reply.Response == nil {
		p.API.LogError("PagerDuty command failed", "user_id", args.UserId, "err", err)
		return nil, model.NewAppError("ExecuteCommand", "plugin.pagerduty.command_failed", nil, "The PagerDuty plugin failed to run the command. Try again; if it keeps failing, ask a system admin to check the server logs.", http.StatusInternalServerError)
	}
	return reply.Response, nil
}

// coreHTTPResponse is the core's reply to a ServeHTTP request.
type coreHTTPResponse struct {
	Status  int         `json:"status"`
	Headers [][2]string `json:"headers"`
	Body    string      `json:"body"`
}

// ServeHTTP is called by the server for requests to /plugins/{plugin id}/….
// The server sets Mattermost-User-Id from the session and drops any value a
// client sends.
func (p *Plugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		http.Error(w, "The request body is too large.", http.StatusRequestEntityTooLarge)
		return
	}
	request := &httpRequest{
		Method:      r.Method,
		Path:        r.URL.Path,
		Query:       r.URL.RawQuery,
		UserID:      r.Header.Get("Mattermost-User-Id"),
		ContentType: r.Header.Get("Content-Type"),
		Body:        string(body),
	}
	// The reply is written while the core is held, so OnDeactivate waits
	// for it instead of letting the server stop the process mid-reply.
	err = p.withCore(func(c *core) error {
		var reply coreHTTPResponse
		envelope := hookRequest{Hook: "serve_http", Request: request}
		if err := c.call(&hostAPI{api: p.API}, envelope, &reply); err != nil {
			return err
		}
		for _, header := range reply.Headers {
			w.Header().Add(header[0], header[1])
		}
		w.WriteHeader(reply.Status)
		_, _ = io.WriteString(w, reply.Body)
		return nil
	})
	if err != nil {
		p.API.LogError("PagerDuty HTTP request failed", "path", r.URL.Path, "err", err)
		http.Error(w, "The PagerDuty plugin failed to handle this request. Try again; if it keeps failing, ask a system admin to check the server logs.", http.StatusInternalServerError)
	}
}

// UserHasBeenDeactivated is called by the server when a user is
// deactivated (server 9.1 and newer); the core removes the user's link.
func (p *Plugin) UserHasBeenDeactivated(_ *plugin.Context, user *model.User) {
	if err := p.callCore(hookRequest{Hook: "user_deactivated", UserID: user.Id}, nil); err != nil {
		p.API.LogError("Failed to remove the PagerDuty link of a deactivated user", "user_id", user.Id, "err", err)
	}
}
