package portal

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// auditFilter is the audit page's filter form, as the browser sent it.
type auditFilter struct {
	Study  string
	Actor  string
	Action string
	// Error says what is wrong with the filter; the page then lists
	// nothing rather than entries that were not asked for.
	Error string
}

func (f auditFilter) Active() bool { return f.Study != "" || f.Actor != "" || f.Action != "" }

// link is the audit page with the filter and, when not "", a cursor.
func (f auditFilter) link(cursor string) template.URL {
	q := url.Values{}
	for _, kv := range [][2]string{{"study", f.Study}, {"actor", f.Actor}, {"action", f.Action}, {"cursor", cursor}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	if len(q) == 0 {
		return "/admin/audit"
	}
	return template.URL("/admin/audit?" + q.Encode())
}

type auditData struct {
	Filter  auditFilter
	Actions []string
	Entries []*hookshot.AuditEntry
	Newest  template.URL // "" on the first page
	Older   template.URL // "" on the last page
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	f := auditFilter{Study: strings.TrimSpace(q.Get("study")), Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action"))}
	query := service.AuditQuery{Actor: f.Actor, Action: f.Action, Cursor: q.Get("cursor")}
	if f.Study != "" {
		n, err := strconv.ParseInt(f.Study, 10, 64)
		if err != nil || n <= 0 {
			f.Error = "The study must be a study id, a whole number above zero."
		}
		query.StudyID = n
	}
	d := auditData{Filter: f, Actions: hookshot.AuditActions}
	status := http.StatusOK
	if f.Error != "" {
		// Still asked, so that a non-admin gets the refusal and not a
		// filter to correct.
		query = service.AuditQuery{Limit: 1}
	}
	entries, next, err := s.svc.Accounts.Audit(r.Context(), sess.principal(), query)
	switch {
	case hookshot.ErrorCode(err) == hookshot.EMalformed && f.Error == "":
		d.Filter.Error = hookshot.ErrorMessage(err)
		status = http.StatusBadRequest
	case err != nil:
		s.fail(w, r, sess, err)
		return
	case f.Error != "":
		status = http.StatusBadRequest
	default:
		d.Entries = entries
		if next != "" {
			d.Older = f.link(next)
		}
		if query.Cursor != "" {
			d.Newest = f.link("")
		}
	}
	s.render(w, r, status, "audit", &view{Title: "Audit trail", Account: sess.account, CSRF: sess.csrf, Data: d})
}
