package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Hub reads the fleet's report once per interval while any tab watches, for all of them:
// however many tabs are open, the engine is asked once. The reads go on for two intervals
// after the last tab leaves (a reload, or a page still loading its scripts, keeps them),
// then stop, and what they read is dropped: a tab that comes later never starts from a
// stale report.
type Hub struct {
	read     func(context.Context) (any, error)
	interval time.Duration

	mu      sync.Mutex
	last    []byte // the latest report, JSON; nil when not read since the reads started
	version int
	changed chan struct{} // closed when last changes
	watch   int           // tabs watching
	stop    context.CancelFunc
	idle    *time.Timer // stops the reads once no tab watches
}

// NewHub is a hub of read's reports, read every interval while watched.
func NewHub(read func(context.Context) (any, error), interval time.Duration) *Hub {
	return &Hub{read: read, interval: interval, changed: make(chan struct{})}
}

// report is what the hub keeps of one read: the report, or why there is none.
type report struct {
	Report any    `json:"report,omitempty"`
	Error  string `json:"error,omitempty"`
}

// refresh reads the report and keeps it when it changed, unless the reads stopped meanwhile.
func (h *Hub) refresh(ctx context.Context) {
	v, err := h.read(ctx)
	rep := report{Report: v}
	if err != nil {
		rep.Error = err.Error()
	}
	b, _ := json.Marshal(rep)
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Err() != nil || bytes.Equal(b, h.last) {
		return
	}
	h.set(b)
}

// set makes b the latest report and wakes whoever waits for a change; h.mu is held.
func (h *Hub) set(b []byte) {
	h.last = b
	h.version++
	close(h.changed)
	h.changed = make(chan struct{})
}

// subscribe counts a watching tab, starting the reads for the first.
func (h *Hub) subscribe() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watch++
	if h.idle != nil {
		h.idle.Stop()
		h.idle = nil
	}
	if h.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() {
		for {
			h.refresh(ctx)
			select {
			case <-ctx.Done():
				return
			case <-time.After(h.interval):
			}
		}
	}()
}

// unsubscribe is subscribe's end: the reads stop two intervals after the last tab.
func (h *Hub) unsubscribe() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watch--; h.watch > 0 {
		return
	}
	h.idle = time.AfterFunc(2*h.interval, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.watch > 0 || h.stop == nil {
			return
		}
		h.stop()
		h.stop, h.idle, h.last = nil, nil, nil
	})
}

// Warm starts the reads as a tab would, for a page about to connect: its first report is
// read while the page loads its scripts.
func (h *Hub) Warm() {
	h.subscribe()
	h.unsubscribe()
}

// current is the latest report, its version, and a channel closed when it changes.
func (h *Hub) current() ([]byte, int, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last, h.version, h.changed
}

// latest is a report read since the reads started, waiting for the first.
func (h *Hub) latest(ctx context.Context) ([]byte, error) {
	h.subscribe()
	defer h.unsubscribe()
	for {
		b, _, changed := h.current()
		if b != nil {
			return b, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

func (h *Hub) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	b, err := h.latest(r.Context())
	if err != nil {
		return // the client went
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// serveEvents streams each new report as a server-sent event, until the tab goes.
func (h *Hub) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h.subscribe()
	defer h.unsubscribe()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush() // connected, before the first report is read
	sent := 0
	for {
		b, version, changed := h.current()
		if b != nil && version != sent {
			fmt.Fprintf(w, "event: fleet\ndata: %s\n\n", b)
			flusher.Flush()
			sent = version
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-time.After(25 * time.Second):
			fmt.Fprint(w, ": keep-alive\n\n") // through proxies that close idle streams
			flusher.Flush()
		}
	}
}
