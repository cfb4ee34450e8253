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
