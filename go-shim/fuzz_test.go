package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
)

// FuzzHostDispatch decodes arbitrary host requests, the JSON that the core
// sends through the host callback.
func FuzzHostDispatch(f *testing.F) {
	for _, seed := range []string{
		`{"op":"kv_get","key":"link_u"}`,
		`{"op":"kv_set","key":"k","value":"v","expire_in_seconds":600}`,
		`{"op":"kv_compare_and_set","key":"k","old":null,"new":"v","expire_in_seconds":null}`,
		`{"op":"kv_compare_and_delete","key":"k","old":"v"}`,
		`{"op":"kv_delete","key":"k"}`,
		`{"op":"save_plugin_config","config":{"clientid":"x"}}`,
		`{"op":"get_site_url"}`,
		`{"op":"has_permission","user_id":"u","permission":"manage_system"}`,
		`{"op":"ensure_bot","username":"pagerduty","display_name":"PagerDuty","description":"d"}`,
		`{"op":"register_command","command":{"Trigger":"pd"}}`,
		`{"op":"send_ephemeral_post","bot_user_id":"b","user_id":"u","channel_id":"c","message":"m"}`,
		`{"op":"send_direct_message","bot_user_id":"b","user_id":"u","message":"m"}`,
		`{"op":"open_dialog","request":{"trigger_id":"t","url":"/x","dialog":{"title":"t"}}}`,
		`{"op":"log","level":"warn","message":"m","fields":[["a","b"]]}`,
		`{"op":"log","level":"nonsense","message":"m","fields":[["a"]]}`,
		`{"op":"register_command","command":"not an object"}`,
	} {
		f.Add([]byte(seed))
	}
	host := &hostAPI{api: newFakeAPI(loopbackSettings())}
	f.Fuzz(func(t *testing.T, payload []byte) {
		result, err := host.dispatch(payload)
		if err != nil {
			return
		}
		if !json.Valid(result) {
			t.Fatalf("dispatch(%q) returned invalid JSON %q", payload, result)
		}
	})
}

// FuzzExecuteCommand runs arbitrary command text through the shim, the C
// ABI and the core, and decodes the core's reply.
func FuzzExecuteCommand(f *testing.F) {
	for _, seed := range []string{"/pd", "/pd help", "/pd connect", "/pd disconnect", "/pd configure", "/pd  HELP extra", "/other", ""} {
		f.Add("useridaaaaaaaaaaaaaaaaaaaa", seed)
		f.Add("adminuserid000000000000000", seed)
	}
	p, _ := newActivatedPlugin(f)
	f.Fuzz(func(t *testing.T, userID, command string) {
		args := &model.CommandArgs{UserId: userID, ChannelId: "channelid0000000000000000a", Command: command}
		response, appErr := p.ExecuteCommand(nil, args)
		if appErr == nil && response == nil {
			t.Fatalf("ExecuteCommand(%q) returned neither a response nor an error", command)
		}
	})
}

// FuzzServeHTTP sends arbitrary requests to the plugin's routes through the
// shim, the C ABI and the core, and writes the decoded reply.
func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", "/oauth/connect", "", "useridaaaaaaaaaaaaaaaaaaaa", []byte(nil))
	f.Add("GET", "/oauth/complete", "code=c&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "useridaaaaaaaaaaaaaaaaaaaa", []byte(nil))
	f.Add("GET", "/oauth/complete", "error=access_denied", "", []byte(nil))
	f.Add("POST", "/dialog/configure", "", "adminuserid000000000000000",
		[]byte(`{"callback_id":"configure","submission":{"client_id":"id","client_secret":"secret"}}`))
	f.Add("DELETE", "/nothing", "a=%zz", "u", []byte("x"))
	p, _ := newActivatedPlugin(f)
	f.Fuzz(func(t *testing.T, method, path, query, userID string, body []byte) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") {
			return
		}
		request := httptest.NewRequest(http.MethodGet, "/", strings.NewReader(string(body)))
		// Set the parts directly: NewRequest panics on input that a server
		// would reject before ServeHTTP.
		request.Method = method
		request.URL.Path = path
		request.URL.RawQuery = query
		request.Header.Set("Mattermost-User-Id", userID)
		recorder := httptest.NewRecorder()
		p.ServeHTTP(nil, recorder, request)
		if recorder.Code < 100 || recorder.Code > 599 {
			t.Fatalf("%s %s?%s replied with status %d", method, path, query, recorder.Code)
		}
	})
}

// validMethod reports whether method is an HTTP token, as net/http's server
// requires before a handler runs.
func validMethod(method string) bool {
	if method == "" {
		return false
	}
	for _, c := range method {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return false
		}
	}
	return true
}
