package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

func newTestPlugin(t *testing.T, api *plugintest.API) *Plugin {
	t.Helper()
	p := &Plugin{}
	p.SetAPI(api)
	t.Cleanup(func() {
		p.coreLock.Lock()
		defer p.coreLock.Unlock()
		if p.core != nil {
			p.core.free()
			p.core = nil
		}
	})
	return p
}

func TestExecuteCommandHelpForUser(t *testing.T) {
	api := &plugintest.API{}
	api.On("HasPermissionTo", "user1", model.PermissionManageSystem).Return(false)
	p := newTestPlugin(t, api)

	response, appErr := p.ExecuteCommand(nil, &model.CommandArgs{UserId: "user1", Command: "/pd help"})

	require.Nil(t, appErr)
	assert.Equal(t, "ephemeral", response.ResponseType)
	assert.Contains(t, response.Text, "/pd help")
	assert.NotContains(t, response.Text, "* `/pd configure`")
	api.AssertExpectations(t)
}

func TestHostPanicBecomesError(t *testing.T) {
	api := &plugintest.API{}
	api.On("HasPermissionTo", "user1", model.PermissionManageSystem).Return(false)
	api.On("KVGet", "link_user1").Run(func(mock.Arguments) {
		panic("simulated API failure")
	})
	api.On("LogError", "Failed to read your link",
		"user_id", "user1", "error", mock.MatchedBy(func(message string) bool {
			return strings.Contains(message, "simulated API failure")
		})).Return()
	p := newTestPlugin(t, api)

	response, appErr := p.ExecuteCommand(nil, &model.CommandArgs{UserId: "user1", Command: "/pd status"})

	require.Nil(t, appErr)
	assert.Contains(t, response.Text, "Failed to read your link")
	api.AssertExpectations(t)
}

func TestExecuteCommandPassesCallerPermission(t *testing.T) {
	api := &plugintest.API{}
	api.On("HasPermissionTo", "admin1", model.PermissionManageSystem).Return(true).Once()
	p := newTestPlugin(t, api)

	response, appErr := p.ExecuteCommand(nil, &model.CommandArgs{UserId: "admin1", Command: "/pd help"})

	require.Nil(t, appErr)
	assert.Contains(t, response.Text, "* `/pd configure`")
	api.AssertExpectations(t)
}

func TestServeHTTPUnknownRoute(t *testing.T) {
	p := newTestPlugin(t, &plugintest.API{})
	recorder := httptest.NewRecorder()
	request := httptest.NewRequest(http.MethodGet, "/nothing-here", nil)

	p.ServeHTTP(nil, recorder, request)

	assert.Equal(t, http.StatusNotFound, recorder.Code)
	assert.Equal(t, "no-store", recorder.Header().Get("Cache-Control"))
}

func TestServeHTTPCallbackNeedsSession(t *testing.T) {
	p := newTestPlugin(t, &plugintest.API{})
	recorder := httptest.NewRecorder()
	request := httptest.NewRequest(http.MethodGet, "/oauth/complete?code=x&state=y", nil)

	p.ServeHTTP(nil, recorder, request)

	assert.Equal(t, http.StatusUnauthorized, recorder.Code)
	assert.Contains(t, recorder.Body.String(), "Sign in to Mattermost")
}

func TestDispatchCompareAndSetWithoutOldValue(t *testing.T) {
	api := &plugintest.API{}
	api.On("KVSetWithOptions", "key1", []byte("new"), model.PluginKVSetOptions{Atomic: true, ExpireInSeconds: 600}).Return(true, nil)
	host := &hostAPI{api: api}

	reply, err := host.dispatch([]byte(`{"op":"kv_compare_and_set","key":"key1","old":null,"new":"new","expire_in_seconds":600}`))

	require.NoError(t, err)
	assert.JSONEq(t, `{"stored":true}`, string(reply))
	api.AssertExpectations(t)
}

func TestDispatchKVGetMissingKey(t *testing.T) {
	api := &plugintest.API{}
	api.On("KVGet", "absent").Return(nil, nil)
	host := &hostAPI{api: api}

	reply, err := host.dispatch([]byte(`{"op":"kv_get","key":"absent"}`))

	require.NoError(t, err)
	assert.JSONEq(t, `{"value":null}`, string(reply))
}

func TestDispatchReportsAppError(t *testing.T) {
	api := &plugintest.API{}
	api.On("KVDelete", "key1").Return(model.NewAppError("KVDelete", "id", nil, "database is down", http.StatusInternalServerError))
	host := &hostAPI{api: api}

	_, err := host.dispatch([]byte(`{"op":"kv_delete","key":"key1"}`))

	require.Error(t, err)
	assert.Contains(t, err.Error(), "database is down")
}

func TestDispatchDirectMessage(t *testing.T) {
	api := &plugintest.API{}
	api.On("GetDirectChannel", "user1", "bot1").Return(&model.Channel{Id: "dm1"}, nil)
	api.On("CreatePost", &model.Post{UserId: "bot1", ChannelId: "dm1", Message: "hello"}).Return(&model.Post{}, nil)
	host := &hostAPI{api: api}

	_, err := host.dispatch([]byte(`{"op":"send_direct_message","bot_user_id":"bot1","user_id":"user1","message":"hello"}`))

	require.NoError(t, err)
	api.AssertExpectations(t)
}

func TestDispatchRejectsUnknownOpAndPermission(t *testing.T) {
	host := &hostAPI{api: &plugintest.API{}}

	_, err := host.dispatch([]byte(`{"op":"format_disk"}`))
	assert.Error(t, err)

	_, err = host.dispatch([]byte(`{"op":"has_permission","user_id":"u","permission":"no_such_permission"}`))
	assert.Error(t, err)

	_, err = host.dispatch([]byte(`not json`))
	assert.Error(t, err)
}

func TestEnsureBotError(t *testing.T) {
	api := &plugintest.API{}
	api.On("EnsureBotUser", mock.Anything).Return("", errors.New("bots are disabled"))
	host := &hostAPI{api: api}

	_, err := host.dispatch([]byte(`{"op":"ensure_bot","username":"pagerduty"}`))

	require.Error(t, err)
	assert.Contains(t, err.Error(), "bots are disabled")
}
