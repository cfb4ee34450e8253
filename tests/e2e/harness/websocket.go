package harness

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// EventListener collects the websocket events that the server sends to one
// user's session, so that a test can wait for them in order. Events stay in
// the buffer until a Next call takes them.
type EventListener struct {
	username string
	ws       *model.WebSocketClient

	mu      sync.Mutex
	events  []*model.WebSocketEvent
	arrived chan struct{} // receives a value when an event arrives
	closed  bool          // the connection ended
}

// ListenEvents opens a websocket connection with the user's session and
// waits for the server's hello event, after which the server delivers the
// user's events to it. Cleanup closes the connection.
func (mm *Mattermost) ListenEvents(t testing.TB, user *User) *EventListener {
	t.Helper()

	wsURL := "ws" + strings.TrimPrefix(mm.URL, "http")
	ws, err := model.NewWebSocketClient4(wsURL, user.Client.AuthToken)
	if err != nil {
		t.Fatalf("open websocket for %q: %v", user.Username, err)
	}

	listener := &EventListener{
		username: user.Username,
		ws:       ws,
		arrived:  make(chan struct{}, 1),
	}
	ws.Listen()
	go listener.receive()
	t.Cleanup(ws.Close)

	listener.Next(t, model.WebsocketEventHello, 30*time.Second)
	return listener
}

// receive drains the client's channels, which must all be read to keep its
// reader from blocking, and buffers the events.
func (l *EventListener) receive() {
	events := l.ws.EventChannel
	responses := l.ws.ResponseChannel
	for events != nil || responses != nil {
		select {
		case event, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			l.mu.Lock()
			l.events = append(l.events, event)
			l.mu.Unlock()
			l.signal()
		case _, ok := <-responses:
			if !ok {
				responses = nil
			}
		case <-l.ws.PingTimeoutChannel:
		}
	}

	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.signal()
}

func (l *EventListener) signal() {
	select {
	case l.arrived <- struct{}{}:
	default:
	}
}

// Next removes and returns the oldest buffered event of eventType, waiting up
// to timeout for one to arrive. It fails the test on timeout.
func (l *EventListener) Next(t testing.TB, eventType model.WebsocketEventType, timeout time.Duration) *model.WebSocketEvent {
	t.Helper()

	return l.NextMatching(t, eventType, timeout, func(*model.WebSocketEvent) bool { return true })
}

// NextMatching is Next for the oldest event of eventType for which match
// returns true.
func (l *EventListener) NextMatching(t testing.TB, eventType model.WebsocketEventType, timeout time.Duration, match func(*model.WebSocketEvent) bool) *model.WebSocketEvent {
	t.Helper()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		event, closed := l.take(eventType, match)
		if event != nil {
			return event
		}
		if closed {
			t.Fatalf("websocket of %q closed while waiting for a %q event: %v", l.username, eventType, l.ws.ListenError)
		}

		select {
		case <-l.arrived:
		case <-timer.C:
			t.Fatalf("no %q event for %q within %s; buffered events: %s", eventType, l.username, timeout, l.bufferedTypes())
		}
	}
}

func (l *EventListener) take(eventType model.WebsocketEventType, match func(*model.WebSocketEvent) bool) (*model.WebSocketEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()

	for i, event := range l.events {
		if event.EventType() == eventType && match(event) {
			l.events = append(l.events[:i], l.events[i+1:]...)
			return event, l.closed
		}
	}
	return nil, l.closed
}

func (l *EventListener) bufferedTypes() string {
	l.mu.Lock()
	defer l.mu.Unlock()

	types := make([]string, 0, len(l.events))
	for _, event := range l.events {
		types = append(types, string(event.EventType()))
	}
	return "[" + strings.Join(types, " ") + "]"
}

// Discard drops all buffered events, so that the next wait returns only
// events that arrive later.
func (l *EventListener) Discard() {
	l.mu.Lock()
	defer l.mu.Unlock()

	l.events = nil
}

// EventPost decodes the post of a posted or ephemeral_message event.
func EventPost(t testing.TB, event *model.WebSocketEvent) *model.Post {
	t.Helper()

	var post model.Post
	decodeEventField(t, event, "post", &post)
	return &post
}

// EventDialog decodes the dialog of an open_dialog event.
func EventDialog(t testing.TB, event *model.WebSocketEvent) *model.OpenDialogRequest {
	t.Helper()

	var dialog model.OpenDialogRequest
	decodeEventField(t, event, "dialog", &dialog)
	return &dialog
}

// decodeEventField decodes a field of the event data that holds JSON text,
// which is how the server sends posts and dialogs.
func decodeEventField(t testing.TB, event *model.WebSocketEvent, field string, target any) {
	t.Helper()

	raw, ok := event.GetData()[field].(string)
	if !ok {
		t.Fatalf("%q event has no %q text field: %v", event.EventType(), field, event.GetData())
	}
	if err := json.Unmarshal([]byte(raw), target); err != nil {
		t.Fatalf("decode %q of %q event: %v", field, event.EventType(), err)
	}
}
