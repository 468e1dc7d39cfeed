package portal

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/hookshot/hookshot"
)

// The admin pages (SPEC §18): accounts, their roles, passwords and API
// tokens, and the audit trail. Who may see them is the Accounts service's
// to say, as for the API: anyone but an admin gets its "forbidden" (403)
// page, since accounts belong to no study and there is nothing to hide.
func (s *Server) adminRoutes() {
	s.handle("GET /admin/accounts", s.listAccounts)
	s.handle("GET /admin/accounts/new", s.newAccount)
	s.handle("POST /admin/accounts", s.createAccount)
	s.handle("GET /admin/accounts/{id}", s.showAccount)
	s.handle("POST /admin/accounts/{id}/roles", s.updateRoles)
	s.handle("POST /admin/accounts/{id}/password", s.setPassword)
	s.handle("GET /admin/accounts/{id}/delete", s.confirmDeleteAccount)
	s.handle("POST /admin/accounts/{id}/delete", s.deleteAccount)
	s.handle("POST /admin/accounts/{id}/tokens", s.createAccountToken)
	s.handle("POST /admin/accounts/{id}/tokens/{token}/revoke", s.revokeAccountToken)
	s.handle("GET /admin/audit", s.listAudit)
}

func init() {
	maps.Copy(notices, map[string]string{
		"account-created":  "The account was created.",
		"roles-saved":      "The account's roles were saved.",
		"password-set":     "The password was set. The account was signed out everywhere, so it signs in again with the new password.",
		"account-deleted":  "The account, its tokens and its sessions were deleted. Its audit entries stay.",
		"token-revoked":    "The token was revoked: it no longer authenticates any request.",
		"own-password-set": "Your password was changed, which signed you out everywhere: sign in with the new one.",
	})
}

func accountPath(id int64) string { return fmt.Sprintf("/admin/accounts/%d", id) }

// formErrors are a form's messages, keyed by field, and those that
// concern no single field.
type formErrors struct {
	Errors   map[string]string
	Problems []string
}

func (f *formErrors) add(field, message string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = message
	}
}

// Err is the message for a field, or "".
func (f *formErrors) Err(field string) string {
	if f == nil {
		return ""
	}
	return f.Errors[field]
}

// Failed reports whether the form has any message.
func (f *formErrors) Failed() bool { return f != nil && (len(f.Errors) > 0 || len(f.Problems) > 0) }

// set puts the service's field errors of an EInvalid or EConflict error
// next to the fields they concern ("manage[1]" belongs to "manage"), and
// reports whether err was one. fields are the form's field names.
func (f *formErrors) set(err error, fields ...string) bool {
	var e *hookshot.Error
	if !errors.As(err, &e) || (e.Code != hookshot.EInvalid && e.Code != hookshot.EConflict) {
		return false
	}
	for _, fe := range e.FieldErrors {
		field, _, _ := strings.Cut(fe.Field, "[")
		found := false
		for _, name := range fields {
			if name == field {
				found = true
			}
		}
		if !found {
			f.Problems = append(f.Problems, fe.Field+" "+fe.Message)
			continue
		}
		f.add(field, sentence(fe.Message))
	}
	if len(e.FieldErrors) == 0 {
		f.Problems = append(f.Problems, e.Message)
	}
	return true
}

// parseStudies reads a list of study ids as people type them: separated
// by commas or spaces. It reports a word that is not a whole number as
// the field's error; ids that are not positive are the service's to
// refuse.
func parseStudies(raw string, field string, f *formErrors) []int64 {
	var ids []int64
	for _, word := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ';' }) {
		n, err := strconv.ParseInt(word, 10, 64)
		if err != nil {
			f.add(field, fmt.Sprintf("%q is not a study id: list whole numbers separated by commas, e.g. 189, 1064.", word))
			continue
		}
		ids = append(ids, n)
	}
	if ids == nil {
		ids = []int64{}
	}
	return ids
}

// studyList shows a list of study ids as the form fields take them.
func studyList(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ", ")
}
