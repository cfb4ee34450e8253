package main

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// hostAPI performs the Mattermost API calls that the core requests. Each
// op maps one-to-one onto a plugin API call; decisions stay in the core.
type hostAPI struct {
	api plugin.API
}

// hostRequest is the union of every op's fields, as src/host.rs encodes them.
type hostRequest struct {
	Op              string          `json:"op"`
	Key             string          `json:"key"`
	Value           string          `json:"value"`
	Old             *string         `json:"old"`
	New             string          `json:"new"`
	ExpireInSeconds *int64          `json:"expire_in_seconds"`
	Config          map[string]any  `json:"config"`
	UserID          string          `json:"user_id"`
	Permission      string          `json:"permission"`
	Username        string          `json:"username"`
	DisplayName     string          `json:"display_name"`
	Description     string          `json:"description"`
	Command         json.RawMessage `json:"command"`
	BotUserID       string          `json:"bot_user_id"`
	ChannelID       string          `json:"channel_id"`
	Message         string          `json:"message"`
	Request         json.RawMessage `json:"request"`
	Page            int             `json:"page"`
	PerPage         int             `json:"per_page"`
	Event           string          `json:"event"`
	Payload         map[string]any  `json:"payload"`
	Level           string          `json:"level"`
	Fields          [][2]string     `json:"fields"`
}

// dispatch decodes one host request, performs it and encodes the result.
func (h *hostAPI) dispatch(payload []byte) ([]byte, error) {
	var request hostRequest
	if err := json.Unmarshal(payload, &request); err != nil {
		return nil, fmt.Errorf("invalid host request: %w", err)
	}
	result, err := h.perform(&request)
	if err != nil {
		return nil, err
	}
	return json.Marshal(result)
}

func appError(op string, appErr *model.AppError) error {
	return fmt.Errorf("%s: %s", op, appErr.Error())
}

func expiry(seconds *int64) int64 {
	if seconds == nil {
		return 0
	}
	return *seconds
}

func (h *hostAPI) perform(request *hostRequest) (any, error) {
	switch request.Op {
	case "kv_get":
		value, appErr := h.api.KVGet(request.Key)
		if appErr != nil {
			return nil, appError(request.Op, appErr)
		}
		if value == nil {
			return map[string]any{"value": nil}, nil
		}
		return map[string]any{"value": string(value)}, nil

	case "kv_set":
		options := model.PluginKVSetOptions{ExpireInSeconds: expiry(request.ExpireInSeconds)}
		if _, appErr := h.api.KVSetWithOptions(request.Key, []byte(request.Value), options); appErr != nil {
			return nil, appError(request.Op, appErr)
		}
		return map[string]any{}, nil

	case "kv_compare_and_set":
		options := model.PluginKVSetOptions{Atomic: true, ExpireInSeconds: expiry(request.ExpireInSeconds)}
		if request.Old != nil {
			options.OldValue = []byte(*request.Old)
		}
		stored, appErr := h.api.KVSetWithOptions(request.Key, []byte(request.New), options)
		if appErr != nil {
			return nil, appError(request.Op, appErr)
		}
		return map[string]any{"stored": stored}, nil

	case "kv_compare_and_delete":
		deleted, appErr := h.api.KVCompareAndDelete(request.Key, []byte(*valueOrEmpty(request.Old)))
		if appErr != nil {
			return nil, appError(request.Op, appErr)
		}
		return map[string]any{"deleted": deleted}, nil

	case "kv_delete":
		if appErr := h.api.KVDelete(request.Key); appErr != nil {
			return nil, appError(request.Op, appErr)
		}
		return map[string]any{}, nil

	case "kv_list":
		keys, appErr := h.api.KVList(request.Page, request.PerPage)
		if appErr != nil {
			return nil, appError(request.Op, appErr)
		}
		if keys == nil {
			keys = []string{}
		}
		return map[string]any{"keys": keys}, nil

	case "get_user", "get_user_by_username":
		var user *model.User
		var appErr *model.AppError
		if request.Op == "get_user" {
			user, appErr = h.api.GetUser(request.UserID)
		} else {
			user, appErr = h.api.GetUserByUsername(request.Username)
		}
		if appErr != nil && appErr.StatusCode == http.StatusNotFound {
			return map[string]any{"user": nil}, nil
		}
		if appErr != nil {
			return nil, appError(request.Op, appErr)
		}
		return map[string]any{"user": map[string]any{"id": user.Id, "username": user.Username, "delete_at": user.DeleteAt}}, nil

	case "save_plugin_config":
		if appErr := h.api.SavePluginConfig(request.Config); appErr != nil {
			return nil, appError(request.Op, appErr)
		}
		return map[string]any{}, nil

	case "get_site_url":
		siteURL := ""
		if config := h.api.GetConfig(); config != nil && config.ServiceSettings.SiteURL != nil {
			siteURL = *config.ServiceSettings.SiteURL
		}
		return map[string]any{"site_url": siteURL}, nil

	case "has_permission":
		permission := findPermission(request.Permission)
		if permission == nil {
			return nil, fmt.Errorf("%s: unknown permission %q", request.Op, request.Permission)
		}
		return map[string]any{"allowed": h.api.HasPermissionTo(request.UserID, permission)}, nil

	case "ensure_bot":
		bot := &model.Bot{Username: request.Username, DisplayName: request.DisplayName, Description: request.Description}
		userID, err := h.api.EnsureBotUser(bot)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", request.Op, err)
		}
		return map[string]any{"user_id": userID}, nil

	case "register_command":
		var command model.Command
		if err := json.Unmarshal(request.Command, &command); err != nil {
			return nil, fmt.Errorf("%s: invalid command: %w", request.Op, err)
		}
		if err := h.api.RegisterCommand(&command); err != nil {
			return nil, fmt.Errorf("%s: %w", request.Op, err)
		}
		return map[string]any{}, nil

	case "send_ephemeral_post":
		post := &model.Post{UserId: request.BotUserID, ChannelId: request.ChannelID, Message: request.Message}
		h.api.SendEphemeralPost(request.UserID, post)
		return map[string]any{}, nil

	case "send_direct_message":
		channel, appErr := h.api.GetDirectChannel(request.UserID, request.BotUserID)
		if appErr != nil {
			return nil, appError(request.Op, appErr)
		}
		post := &model.Post{UserId: request.BotUserID, ChannelId: channel.Id, Message: request.Message}
		if _, appErr := h.api.CreatePost(post); appErr != nil {
			return nil, appError(request.Op, appErr)
		}
		return map[string]any{}, nil

	case "open_dialog":
		var dialog model.OpenDialogRequest
		if err := json.Unmarshal(request.Request, &dialog); err != nil {
			return nil, fmt.Errorf("%s: invalid dialog: %w", request.Op, err)
		}
		if appErr := h.api.OpenInteractiveDialog(dialog); appErr != nil {
			return nil, appError(request.Op, appErr)
		}
		return map[string]any{}, nil

	case "publish_event":
		h.api.PublishWebSocketEvent(request.Event, request.Payload, &model.WebsocketBroadcast{UserId: request.UserID})
		return map[string]any{}, nil

	case "log":
		h.log(request.Level, request.Message, request.Fields)
		return map[string]any{}, nil
	}
	return nil, fmt.Errorf("unknown host op %q", request.Op)
}

func valueOrEmpty(value *string) *string {
	if value == nil {
		empty := ""
		return &empty
	}
	return value
}

func findPermission(id string) *model.Permission {
	for _, permission := range model.AllPermissions {
		if permission.Id == id {
			return permission
		}
	}
	return nil
}

func (h *hostAPI) log(level, message string, fields [][2]string) {
	keyValuePairs := make([]any, 0, 2*len(fields))
	for _, field := range fields {
		keyValuePairs = append(keyValuePairs, field[0], field[1])
	}
	switch level {
	case "debug":
		h.api.LogDebug(message, keyValuePairs...)
	case "info":
		h.api.LogInfo(message, keyValuePairs...)
	case "warn":
		h.api.LogWarn(message, keyValuePairs...)
	default:
		h.api.LogError(message, keyValuePairs...)
	}
}
