package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
)

// Events lists a study's events newest first, filtered by f, without their
// payloads (a page of events stays small however large they were), each
// with its deliveries oldest first. A Limit of zero or less means no
// limit. Two statements whatever the page's length: one for the events,
// one for all of their deliveries.
func (s *Store) Events(ctx context.Context, f hookshot.EventFilter) ([]*hookshot.EventRecord, error) {
	var out []*hookshot.EventRecord
	// One read transaction, so that the deliveries are those of the
	// events as listed.
	err := s.e.ReadTx(ctx, func(q Querier) error {
		var args params
		where := []string{"study_id = " + args.add(f.StudyID)}
		if f.Type != "" {
			where = append(where, "type = "+args.add(f.Type))
		}
		where = append(where, s.createdWithin(&args, f.Since, f.Until)...)
		if f.Before != nil {
			// A row value comparison, so that the events_study_created index
			// serves the page directly.
			where = append(where, "(created_at, id) < ("+args.add(s.e.Time(Timestamp(f.Before.CreatedAt)))+", "+args.add(f.Before.ID)+")")
		}
		query := `SELECT id, study_id, type, trace_parent, created_at FROM events WHERE ` + strings.Join(where, " AND ") +
			` ORDER BY created_at DESC, id DESC`
		if f.Limit > 0 {
			query += " LIMIT " + args.add(f.Limit)
		}
		rows, err := q.Query(ctx, query, args...)
		out, err = collect(rows, err, func(r Rows) (*hookshot.EventRecord, error) {
			var ev hookshot.Event
			if err := r.Scan(&ev.ID, &ev.StudyID, &ev.Type, &ev.TraceParent, s.e.ScanTime(&ev.CreatedAt)); err != nil {
				return nil, err
			}
			return &hookshot.EventRecord{Event: &ev}, nil
		})
		if err != nil || len(out) == 0 {
			return err
		}
		return s.attachDeliveries(ctx, q, out)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: listing events of study %d: %w", s.name, f.StudyID, err)
	}
	return out, nil
}

// Event returns one event of a study with its payload and its deliveries
// oldest first, or ErrNotFound.
func (s *Store) Event(ctx context.Context, studyID int64, id string) (*hookshot.EventRecord, error) {
	var rec *hookshot.EventRecord
	err := s.e.ReadTx(ctx, func(q Querier) error {
		var ev hookshot.Event
		err := q.QueryRow(ctx, `SELECT id, study_id, type, payload, trace_parent, created_at FROM events WHERE id = $1 AND study_id = $2`,
			id, studyID).Scan(&ev.ID, &ev.StudyID, &ev.Type, &ev.Payload, &ev.TraceParent, s.e.ScanTime(&ev.CreatedAt))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("event %s of study %d: %w", id, studyID, hookshot.ErrNotFound)
		}
		if err != nil {
			return err
		}
		rec = &hookshot.EventRecord{Event: &ev}
		return s.attachDeliveries(ctx, q, []*hookshot.EventRecord{rec})
	})
	if err != nil {
		return nil, s.fail(err, "reading event %s", id)
	}
	return rec, nil
}

// attachDeliveries reads the deliveries of recs' events in one statement,
// and gives each record its own.
func (s *Store) attachDeliveries(ctx context.Context, q Querier, recs []*hookshot.EventRecord) error {
	byID := make(map[string]*hookshot.EventRecord, len(recs))
	ids := make([]string, len(recs))
	for i, rec := range recs {
		byID[rec.Event.ID] = rec
		ids[i] = rec.Event.ID
	}
	rows, err := q.Query(ctx, `SELECT `+DeliveryColumns+` FROM deliveries WHERE `+s.e.AnyOf("event_id", "$1")+
		` ORDER BY created_at, id`, s.e.Strings(ids))
	ds, err := collect(rows, err, s.scanDelivery)
	if err != nil {
		return fmt.Errorf("reading deliveries of events: %w", err)
	}
	for _, d := range ds {
		if rec := byID[d.EventID]; rec != nil {
			rec.Deliveries = append(rec.Deliveries, d)
		}
	}
	return nil
}

// createdWithin is the conditions on created_at of a [since, until)
// window; a zero bound is no bound.
func (s *Store) createdWithin(args *params, since, until time.Time) []string {
	var where []string
	if !since.IsZero() {
		where = append(where, "created_at >= "+args.add(s.e.Time(Timestamp(since))))
	}
	if !until.IsZero() {
		where = append(where, "created_at < "+args.add(s.e.Time(Timestamp(until))))
	}
	return where
}
