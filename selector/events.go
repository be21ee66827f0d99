package selector

import (
	"sync"
	"time"
)

// EventKind names what happened to a node.
type EventKind string

// The event kinds.
const (
	EventJoined    EventKind = "joined"
	EventLeft      EventKind = "left"
	EventEjected   EventKind = "ejected"
	EventRecovered EventKind = "recovered"
)

// maxEvents is how many events a service keeps.
const maxEvents = 64

// Event is one change of a node of a service, for dashboards.
type Event struct {
	Time    time.Time `json:"time"`
	Service string    `json:"service"`
	Kind    EventKind `json:"kind"`
	Node    string    `json:"node"`
	Detail  string    `json:"detail,omitempty"`
}

// eventLog is a bounded log of a service's events.
type eventLog struct {
	mu      sync.Mutex
	service string
	events  []Event
}

func newEventLog(service string) *eventLog { return &eventLog{service: service} }

// add records an event, dropping the oldest beyond maxEvents.
func (l *eventLog) add(t time.Time, kind EventKind, node, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == maxEvents {
		copy(l.events, l.events[1:])
		l.events = l.events[:maxEvents-1]
	}
	l.events = append(l.events, Event{Time: t, Service: l.service, Kind: kind, Node: node, Detail: detail})
}

// diff records the nodes that joined or left between two snapshots.
func (l *eventLog) diff(old, cur *snapshot, t time.Time) {
	if old != nil {
		for id := range old.byID {
			if _, ok := cur.byID[id]; !ok {
				l.add(t, EventLeft, id, "")
			}
		}
	}
	for _, n := range cur.reg {
		if old != nil {
			if _, ok := old.byID[n.Id]; ok {
				continue
			}
		}
		l.add(t, EventJoined, n.Id, n.Address)
	}
}

// list returns a copy of the events, oldest first.
func (l *eventLog) list() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}
