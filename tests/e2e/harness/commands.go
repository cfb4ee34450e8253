package harness

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/mattermost/mattermost/server/public/model"
)

// These helpers return errors instead of failing the test, because the
// request is often what a test checks. A rejected request returns a
// *model.AppError with the server's status code and message.

// ExecuteCommand runs a slash command, like "/pd help", in a channel and
// returns the command response. Ephemeral posts and dialogs that the
// command opens arrive over the websocket: see EventListener.
func ExecuteCommand(client *model.Client4, channelID, command string) (*model.CommandResponse, error) {
	ctx, cancel := testContext()
	defer cancel()

	response, _, err := client.ExecuteCommand(ctx, channelID, command)
	if err != nil {
		return nil, fmt.Errorf("execute %q: %w", command, err)
	}
	return response, nil
}

// AutocompleteSuggestions returns the server's slash command suggestions for
// userInput, such as "/pd co", as typed in a channel of the team.
func AutocompleteSuggestions(client *model.Client4, teamID, channelID, userInput string) ([]model.AutocompleteSuggestion, error) {
	ctx, cancel := testContext()
	defer cancel()

	query := url.Values{}
	query.Set("user_input", userInput)
	query.Set("channel_id", channelID)
	response, err := client.DoAPIGet(ctx, "/teams/"+teamID+"/commands/autocomplete_suggestions?"+query.Encode(), "")
	if err != nil {
		return nil, fmt.Errorf("autocomplete %q: %w", userInput, err)
	}
	defer response.Body.Close()

	var suggestions []model.AutocompleteSuggestion
	if err := json.NewDecoder(response.Body).Decode(&suggestions); err != nil {
		return nil, fmt.Errorf("decode autocomplete suggestions for %q: %w", userInput, err)
	}
	return suggestions, nil
}

// SubmitDialog submits an interactive dialog. The server sets the user from
// the client's session and forwards the submission to request.URL.
func SubmitDialog(client *model.Client4, request model.SubmitDialogRequest) (*model.SubmitDialogResponse, error) {
	ctx, cancel := testContext()
	defer cancel()

	response, _, err := client.SubmitInteractiveDialog(ctx, request)
	if err != nil {
		return nil, fmt.Errorf("submit dialog %q: %w", request.CallbackId, err)
	}
	return response, nil
}

// DialogSubmission returns the submission of an opened dialog with the given
// field values, addressed to the dialog's URL with its callback id and state.
func DialogSubmission(opened *model.OpenDialogRequest, channelID, teamID string, values map[string]any) model.SubmitDialogRequest {
	return model.SubmitDialogRequest{
		Type:       "dialog_submission",
		URL:        opened.URL,
		CallbackId: opened.Dialog.CallbackId,
		State:      opened.Dialog.State,
		ChannelId:  channelID,
		TeamId:     teamID,
		Submission: values,
	}
}
