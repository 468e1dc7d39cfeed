package service

import (
	"context"
	"strings"

	"github.com/hookshot/hookshot"
)

// EventQuery selects a page of a study's events. Every field is optional
// and as a caller wrote it; ListEvents checks them.
type EventQuery struct {
	Type string
	// Since and Until (RFC 3339) keep the events created in [Since, Until).
	Since, Until string
	Cursor       string
	Limit        int
}

// ListEvents lists a study's events newest first, without payloads, each
// with its deliveries, and returns the cursor of the next page ("" on the
// last). The study's managers and publishers may; anyone else gets
// ENotFound. A bad query is EMalformed, naming each bad parameter.
func (s *Events) ListEvents(ctx context.Context, p *hookshot.Principal, studyID int64, q EventQuery) ([]*hookshot.EventRecord, string, error) {
	if err := mayReadEvents(p, studyID); err != nil {
		return nil, "", err
	}
	f := hookshot.EventFilter{StudyID: studyID, Limit: q.Limit}
	var problems []hookshot.FieldError
	if q.Type != "" {
		if _, ok := s.catalog.Lookup(q.Type); !ok {
			problems = append(problems, hookshot.FieldError{Field: "type", Message: "must be an event type: " + strings.Join(eventTypeNames(s), ", ")})
		}
		f.Type = q.Type
	}
	f.Since, f.Until, problems = queryWindow(problems, q.Since, q.Until)
	f.Before, problems = queryCursor(problems, q.Cursor)
	f.Limit, problems = queryLimit(problems, f.Limit)
	if len(problems) > 0 {
		return nil, "", badQuery("event list", problems)
	}
	want := f.Limit
	f.Limit++ // one more tells whether there is a next page
	recs, err := s.store.Events(ctx, f)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(recs) > want {
		recs = recs[:want]
		last := recs[want-1].Event
		next = hookshot.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
	}
	return recs, next, nil
}

// Event returns one event of a study with its payload, byte for byte as
// published, and its deliveries, to the study's managers and publishers.
// An unknown event, or anyone else, gets ENotFound.
func (s *Events) Event(ctx context.Context, p *hookshot.Principal, studyID int64, id string) (*hookshot.EventRecord, error) {
	if err := mayReadEvents(p, studyID); err != nil {
		return nil, err
	}
	id = strings.ToLower(id)
	if !guidPattern.MatchString(id) {
		return nil, hookshot.Errorf(hookshot.ENotFound, "Event %q does not exist in study %d: event ids are GUIDs.", id, studyID)
	}
	rec, err := s.store.Event(ctx, studyID, id)
	if err != nil {
		return nil, notFound(err, "Event %s does not exist in study %d.", id, studyID)
	}
	return rec, nil
}

func eventTypeNames(s *Events) []string {
	var names []string
	for _, t := range s.catalog.Types() {
		names = append(names, t.Name)
	}
	return names
}
