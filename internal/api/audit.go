package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

type auditJSON struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	StudyID *int64    `json:"study_id"`
	Target  string    `json:"target"`
	Detail  string    `json:"detail"`
}

func renderAudit(e *hookshot.AuditEntry) auditJSON {
	out := auditJSON{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail}
	if e.StudyID != 0 {
		id := e.StudyID
		out.StudyID = &id
	}
	return out
}

// listAudit answers GET /v1/audit?study_id=&actor=&action=&cursor=&limit=,
// newest first.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	q := r.URL.Query()
	query := service.AuditQuery{Cursor: q.Get("cursor"), Actor: q.Get("actor"), Action: q.Get("action")}
	if v := q.Get("study_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			s.problem(w, r, &hookshot.Error{Code: hookshot.EMalformed, Message: "The query parameter study_id must be a study id, a positive whole number.",
				FieldErrors: []hookshot.FieldError{{Field: "study_id", Message: "must be a positive whole number"}}})
			return
		}
		query.StudyID = n
	}
	limit, err := pageLimit(q.Get("limit"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	query.Limit = limit
	entries, next, err := s.svc.Accounts.Audit(r.Context(), p, query)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	items := make([]auditJSON, len(entries))
	for i, e := range entries {
		items[i] = renderAudit(e)
	}
	writeJSON(w, http.StatusOK, list(items, next))
}
