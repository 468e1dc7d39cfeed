package storetest

import (
	"bytes"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var eventListTests = []test{
	{"NewestFirst", testEventsNewestFirst},
	{"Filters", testEventsFilters},
	{"Pages", testEventsPages},
	{"Read", testEventRead},
	{"ReadNotFound", testEventReadNotFound},
}

// eventsFixture publishes events of study A at four created_at values
// (many ties), of two types, with none, one or two deliveries each, and
// one event of study B; it returns study A's in newest-first order.
func (f *fixture) eventsFixture() []*hookshot.EventRecord {
	f.t.Helper()
	w1 := f.createWebhook(studyA)
	w2 := f.createWebhook(studyA)
	wb := f.createWebhook(studyB)
	evB := f.newEvent(studyB)
	f.publish(evB, []*hookshot.Delivery{f.newDelivery(wb, evB, f.now)}, nil)
	var all []*hookshot.EventRecord
	for i := range 17 {
		ev := f.newEvent(studyA)
		ev.CreatedAt = f.at(-time.Duration(i%4) * time.Minute)
		if i%3 == 0 {
			ev.Type, ev.Payload = hookshot.EventRawProcessingComplete, bytes.Clone(rawPayload)
		}
		var ds []*hookshot.Delivery
		for _, w := range []*hookshot.Webhook{w1, w2}[:i%3] {
			d := f.newDelivery(w, ev, f.now)
			if w == w2 {
				// Later than w1's, so that oldest first is w1, then w2.
				d.CreatedAt = ev.CreatedAt.Add(time.Microsecond)
			}
			ds = append(ds, d)
		}
		f.publish(ev, ds, nil)
		all = append(all, &hookshot.EventRecord{Event: ev, Deliveries: ds})
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i].Event, all[j].Event
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		return a.ID > b.ID
	})
	return all
}

func (f *fixture) events(filter hookshot.EventFilter) []*hookshot.EventRecord {
	f.t.Helper()
	recs, err := f.store.Events(f.ctx, filter)
	if err != nil {
		f.t.Fatalf("Events(%+v): %v", filter, err)
	}
	return recs
}

func eventIDs(recs []*hookshot.EventRecord) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.Event.ID
	}
	return ids
}

func checkEventIDs(t testing.TB, what string, got, want []*hookshot.EventRecord) {
	t.Helper()
	if g, w := eventIDs(got), eventIDs(want); fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("%s:\n\tgot  %v\n\twant %v", what, g, w)
	}
}

// checkEventRecord compares an event and its deliveries; withPayload says
// whether the payload is expected (a read) or not (a list).
func checkEventRecord(t testing.TB, what string, got, want *hookshot.EventRecord, withPayload bool) {
	t.Helper()
	var d diffs
	d.check("ID", got.Event.ID, want.Event.ID)
	d.check("StudyID", got.Event.StudyID, want.Event.StudyID)
	d.check("Type", got.Event.Type, want.Event.Type)
	d.check("TraceParent", got.Event.TraceParent, want.Event.TraceParent)
	d.check("CreatedAt", got.Event.CreatedAt, want.Event.CreatedAt)
	if withPayload {
		d.check("Payload", got.Event.Payload, want.Event.Payload)
	} else if got.Event.Payload != nil {
		d = append(d, fmt.Sprintf("Payload = %q, want none in a list", got.Event.Payload))
	}
	d.report(t, what)
	checkIDs(t, what+": deliveries", got.Deliveries, want.Deliveries)
	for i := range min(len(got.Deliveries), len(want.Deliveries)) {
		checkDelivery(t, what+": delivery", got.Deliveries[i], want.Deliveries[i])
	}
}

// Events lists a study's events newest first, without payloads, each
// with its deliveries oldest first; another study's events are not there.
func testEventsNewestFirst(t *testing.T, f *fixture) {
	all := f.eventsFixture()
	got := f.events(hookshot.EventFilter{StudyID: studyA, Limit: 100})
	checkEventIDs(t, "Events", got, all)
	if len(got) == len(all) {
		for i := range all {
			checkEventRecord(t, "listed event", got[i], all[i], false)
		}
	}
	if got := f.events(hookshot.EventFilter{StudyID: 4242}); len(got) != 0 {
		t.Errorf("Events of a study without events = %v, want none", eventIDs(got))
	}
}

// Type, Since and Until filter the list; Since is inclusive, Until
// exclusive, zero means no bound.
func testEventsFilters(t *testing.T, f *fixture) {
	all := f.eventsFixture()
	for _, tc := range []struct {
		typ          string
		since, until time.Time
	}{
		{typ: hookshot.EventRawProcessingComplete},
		{typ: hookshot.EventUpload},
		{typ: hookshot.EventDailyStatisticsComplete},
		{since: f.at(-2 * time.Minute)},
		{until: f.at(-time.Minute)},
		{since: f.at(-2 * time.Minute), until: f.at(-time.Minute)},
		{typ: hookshot.EventUpload, since: f.at(-time.Minute), until: f.at(time.Hour)},
		{since: f.at(time.Minute)},
	} {
		var want []*hookshot.EventRecord
		for _, r := range all {
			at := r.Event.CreatedAt
			if (tc.typ == "" || r.Event.Type == tc.typ) && (tc.since.IsZero() || !at.Before(tc.since)) && (tc.until.IsZero() || at.Before(tc.until)) {
				want = append(want, r)
			}
		}
		got := f.events(hookshot.EventFilter{StudyID: studyA, Type: tc.typ, Since: tc.since, Until: tc.until})
		checkEventIDs(t, fmt.Sprintf("Events of type %q in [%s, %s)", tc.typ, tc.since.Sub(f.now), tc.until.Sub(f.now)), got, want)
	}
}

// Limit bounds a page and Before starts one after a position: the pages
// give every event once, in order, ties on created_at included, with
// their deliveries.
func testEventsPages(t *testing.T, f *fixture) {
	all := f.eventsFixture()
	for _, tc := range []struct {
		typ   string
		limit int
	}{{"", 1}, {"", 4}, {"", 17}, {hookshot.EventUpload, 3}} {
		var want []*hookshot.EventRecord
		for _, r := range all {
			if tc.typ == "" || r.Event.Type == tc.typ {
				want = append(want, r)
			}
		}
		var got []*hookshot.EventRecord
		filter := hookshot.EventFilter{StudyID: studyA, Type: tc.typ, Limit: tc.limit}
		for pages := 0; ; pages++ {
			if pages > len(all)+1 {
				t.Fatalf("pages of %d never end", tc.limit)
			}
			page := f.events(filter)
			if len(page) > tc.limit {
				t.Fatalf("page of %d events with Limit %d", len(page), tc.limit)
			}
			got = append(got, page...)
			if len(page) < tc.limit {
				break
			}
			last := page[len(page)-1].Event
			filter.Before = &hookshot.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		checkEventIDs(t, fmt.Sprintf("pages of %d of type %q", tc.limit, tc.typ), got, want)
		if len(got) == len(want) {
			for i := range want {
				checkEventRecord(t, "paged event", got[i], want[i], false)
			}
		}
	}
}

// Event returns one event with its payload, byte for byte, and its
// deliveries oldest first.
func testEventRead(t *testing.T, f *fixture) {
	for _, r := range f.eventsFixture()[:6] {
		got, err := f.store.Event(f.ctx, studyA, r.Event.ID)
		if err != nil {
			t.Fatalf("Event(%s): %v", r.Event.ID, err)
		}
		checkEventRecord(t, "Event", got, r, true)
	}
}

// Event is ErrNotFound for an unknown event and for another study's.
func testEventReadNotFound(t *testing.T, f *fixture) {
	all := f.eventsFixture()
	_, err := f.store.Event(f.ctx, studyA, newID())
	wantErr(t, "Event of an unknown id", err, hookshot.ErrNotFound)
	_, err = f.store.Event(f.ctx, studyB, all[0].Event.ID)
	wantErr(t, "Event of another study", err, hookshot.ErrNotFound)
}

// ID finds one delivery, EventID an event's deliveries, and Since and
// Until keep those created in [Since, Until); all combine with the other
// filters and with paging.
func testListFindAndWindow(t *testing.T, f *fixture) {
	w, all := f.listFixture()
	var anEvent *hookshot.Delivery
	for _, d := range all {
		if d.EventID != "" {
			anEvent = d
			break
		}
	}
	for _, tc := range []struct {
		name   string
		filter hookshot.DeliveryFilter
		keep   func(d *hookshot.Delivery) bool
	}{
		{"ID", hookshot.DeliveryFilter{ID: all[3].ID}, func(d *hookshot.Delivery) bool { return d.ID == all[3].ID }},
		{"unknown ID", hookshot.DeliveryFilter{ID: newID()}, func(d *hookshot.Delivery) bool { return false }},
		{"ID with another status", hookshot.DeliveryFilter{ID: all[3].ID, Status: otherStatus(all[3].Status)},
			func(d *hookshot.Delivery) bool { return false }},
		{"EventID", hookshot.DeliveryFilter{EventID: anEvent.EventID}, func(d *hookshot.Delivery) bool { return d.EventID == anEvent.EventID }},
		{"Since", hookshot.DeliveryFilter{Since: f.at(-2 * time.Minute)}, func(d *hookshot.Delivery) bool { return !d.CreatedAt.Before(f.at(-2 * time.Minute)) }},
		{"Until", hookshot.DeliveryFilter{Until: f.at(-time.Minute)}, func(d *hookshot.Delivery) bool { return d.CreatedAt.Before(f.at(-time.Minute)) }},
		{"window and status", hookshot.DeliveryFilter{Since: f.at(-time.Minute), Until: f.now, Status: hookshot.DeliveryFailed},
			func(d *hookshot.Delivery) bool {
				return d.CreatedAt.Equal(f.at(-time.Minute)) && d.Status == hookshot.DeliveryFailed
			}},
	} {
		var want []*hookshot.Delivery
		for _, d := range all {
			if tc.keep(d) {
				want = append(want, d)
			}
		}
		filter := tc.filter
		filter.WebhookID = w.ID
		checkIDs(t, "Deliveries by "+tc.name, f.list(filter), want)
		// The same, a page of two at a time.
		var got []*hookshot.Delivery
		filter.Limit = 2
		for range len(all) {
			page := f.list(filter)
			got = append(got, page...)
			if len(page) < 2 {
				break
			}
			last := page[len(page)-1]
			filter.Before = &hookshot.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		checkIDs(t, "pages of Deliveries by "+tc.name, got, want)
	}
	// Another webhook's delivery is not found by its ID.
	other := f.createWebhook(studyA)
	theirs := f.enqueue(other, f.now)
	checkIDs(t, "Deliveries by another webhook's delivery ID", f.list(hookshot.DeliveryFilter{WebhookID: w.ID, ID: theirs.ID}), nil)
}

func otherStatus(s hookshot.DeliveryStatus) hookshot.DeliveryStatus {
	if s == hookshot.DeliveryFailed {
		return hookshot.DeliverySucceeded
	}
	return hookshot.DeliveryFailed
}
