package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hookshot/hookshot"
)

// change runs fn, a change of ours, and appends e (nil for none) in one
// write transaction, so that the change and its audit entry are saved
// together or not at all. fn returns the id of the row it created, which
// fills the hookshot.AuditNewID placeholder of e's Target, or 0. e gets
// its ID, At and Target as stored, once the transaction has committed.
func (s *Store) change(ctx context.Context, e *hookshot.AuditEntry, fn func(tx Querier) (int64, error)) error {
	var saved hookshot.AuditEntry
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		id, err := fn(tx)
		if err != nil || e == nil {
			return err
		}
		saved, err = s.insertAudit(ctx, tx, e, id)
		return err
	})
	if err == nil && e != nil {
		*e = saved
	}
	return err
}

// insertAudit inserts a copy of e in tx and returns it as stored: with its
// ID, a zero At filled, and newID, when not 0, in place of
// hookshot.AuditNewID in its Target.
func (s *Store) insertAudit(ctx context.Context, tx Querier, e *hookshot.AuditEntry, newID int64) (hookshot.AuditEntry, error) {
	saved := *e
	saved.At = stamp(saved.At)
	if newID != 0 {
		saved.Target = strings.ReplaceAll(saved.Target, hookshot.AuditNewID, strconv.FormatInt(newID, 10))
	}
	var study *int64
	if saved.StudyID != 0 {
		study = &saved.StudyID
	}
	if err := tx.QueryRow(ctx, `
		INSERT INTO audit_log (at, actor, action, study_id, target, detail) VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING id`, s.e.Time(saved.At), saved.Actor, saved.Action, study, saved.Target, saved.Detail).Scan(&saved.ID); err != nil {
		return hookshot.AuditEntry{}, fmt.Errorf("appending audit entry: %w", err)
	}
	return saved, nil
}

// AppendAudit inserts e and sets its ID.
func (s *Store) AppendAudit(ctx context.Context, e *hookshot.AuditEntry) error {
	var saved hookshot.AuditEntry
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		var err error
		saved, err = s.insertAudit(ctx, tx, e, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	*e = saved
	return nil
}

// likeEscaper escapes LIKE's wildcards and its escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Audit returns entries newest first.
func (s *Store) Audit(ctx context.Context, f hookshot.AuditFilter) ([]*hookshot.AuditEntry, error) {
	q := `SELECT id, at, actor, action, study_id, target, detail FROM audit_log WHERE 1 = 1`
	var args params
	if f.StudyID != 0 {
		q += ` AND study_id = ` + args.add(f.StudyID)
	}
	if f.Actor != "" {
		// LIKE with the wildcards of the search escaped, so that "_" and
		// "%" in an email match themselves; lower() on both sides,
		// because PostgreSQL's LIKE heeds case and SQLite's does not.
		q += ` AND lower(actor) LIKE lower(` + args.add("%"+likeEscaper.Replace(f.Actor)+"%") + `) ESCAPE '\'`
	}
	if f.Action != "" {
		q += ` AND action = ` + args.add(f.Action)
	}
	if f.Before != 0 {
		q += ` AND id < ` + args.add(f.Before)
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ` + args.add(f.Limit)
	}
	rows, err := s.e.Reader().Query(ctx, q, args...)
	out, err := collect(rows, err, func(r Rows) (*hookshot.AuditEntry, error) {
		var e hookshot.AuditEntry
		var study *int64
		if err := r.Scan(&e.ID, s.e.ScanTime(&e.At), &e.Actor, &e.Action, &study, &e.Target, &e.Detail); err != nil {
			return nil, err
		}
		if study != nil {
			e.StudyID = *study
		}
		return &e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: reading the audit trail: %w", s.name, err)
	}
	return out, nil
}
