package main

import (
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
)

// BenchmarkExecuteCommandHelp measures one `/pd help` through the shim: Go
// encodes the hook request, cgo calls pd_core_handle, the core decodes it,
// calls back into Go for the permission check, encodes the reply, and Go
// decodes it. The plugin API is the in-memory fakeAPI.
func BenchmarkExecuteCommandHelp(b *testing.B) {
	p, _ := newActivatedPlugin(b)
	args := &model.CommandArgs{UserId: "useridaaaaaaaaaaaaaaaaaaaa", ChannelId: "channelid0000000000000000a", Command: "/pd help"}
	b.ReportAllocs()
	for b.Loop() {
		if _, appErr := p.ExecuteCommand(nil, args); appErr != nil {
			b.Fatal(appErr)
		}
	}
}

// BenchmarkABIRoundTripCommand measures the C ABI alone with a typical
// command request and reply: Go encodes the `/pd help` arguments, cgo calls
// pd_core_handle, the core decodes them and encodes an ephemeral reply
// without any host call, and Go decodes the reply into a CommandResponse.
func BenchmarkABIRoundTripCommand(b *testing.B) {
	p, _ := newActivatedPlugin(b)
	args := &model.CommandArgs{UserId: "useridaaaaaaaaaaaaaaaaaaaa", ChannelId: "channelid0000000000000000a", TeamId: "teamid0000000000000000000a", Command: "/pd help"}
	request := hookRequest{Hook: "echo_command", Args: args}
	b.ReportAllocs()
	for b.Loop() {
		var reply struct {
			Response *model.CommandResponse `json:"response"`
		}
		if err := p.callCore(request, &reply); err != nil || reply.Response == nil {
			b.Fatal(err)
		}
	}
}
