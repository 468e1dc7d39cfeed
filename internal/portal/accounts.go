package portal

import (
	"net/http"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// accountForm is the New account form and the roles form of an account's
// page, as the browser sent them. A password is never put back into it.
type accountForm struct {
	formErrors
	Email      string
	Admin      bool
	PublishAll bool
	Publish    string // study ids as typed, e.g. "189, 1064"
	Manage     string
}

func rolesOf(a *hookshot.Account) *accountForm {
	return &accountForm{Email: a.Email, Admin: a.Admin, PublishAll: a.PublishAll, Publish: studyList(a.Publish), Manage: studyList(a.Manage)}
}

func parseAccountForm(r *http.Request) *accountForm {
	_ = r.ParseForm()
	v := r.PostForm
	return &accountForm{
		Email:      strings.TrimSpace(v.Get("email")),
		Admin:      v.Get("admin") == "on",
		PublishAll: v.Get("publish_all") == "on",
		Publish:    strings.TrimSpace(v.Get("publish")),
		Manage:     strings.TrimSpace(v.Get("manage")),
	}
}

type accountsData struct {
	Accounts []*hookshot.Account
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request, sess *session) {
	accounts, err := s.svc.Accounts.List(r.Context(), sess.principal())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.render(w, r, http.StatusOK, "accounts", &view{Title: "Accounts", Account: sess.account, CSRF: sess.csrf, Notice: notice(r), Data: accountsData{Accounts: accounts}})
}

type newAccountData struct {
	Form        *accountForm
	MinPassword int
}

func (s *Server) showNewAccount(w http.ResponseWriter, r *http.Request, sess *session, status int, f *accountForm) {
	s.render(w, r, status, "account_new", &view{Title: "New account", Account: sess.account, CSRF: sess.csrf,
		Data: newAccountData{Form: f, MinPassword: service.MinPasswordLength}})
}

func (s *Server) newAccount(w http.ResponseWriter, r *http.Request, sess *session) {
	// Asked first, so that a non-admin gets the refusal, not a form.
	if _, err := s.svc.Accounts.List(r.Context(), sess.principal()); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.showNewAccount(w, r, sess, http.StatusOK, &accountForm{})
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request, sess *session) {
	f := parseAccountForm(r)
	in := service.AccountInput{Email: f.Email, Password: r.PostFormValue("password"), Admin: f.Admin, PublishAll: f.PublishAll,
		Publish: parseStudies(f.Publish, "publish", &f.formErrors), Manage: parseStudies(f.Manage, "manage", &f.formErrors)}
	if f.Failed() {
		// Asked anyway for a non-admin, who must get the refusal rather
		// than help with the form.
		if _, err := s.svc.Accounts.List(r.Context(), sess.principal()); err != nil {
			s.fail(w, r, sess, err)
			return
		}
		s.showNewAccount(w, r, sess, http.StatusUnprocessableEntity, f)
		return
	}
	a, err := s.svc.Accounts.Create(r.Context(), sess.principal(), in)
	if err != nil {
		if f.set(err, "email", "password", "publish", "manage") {
			status := http.StatusUnprocessableEntity
			if hookshot.ErrorCode(err) == hookshot.EConflict {
				status = http.StatusConflict
			}
			s.showNewAccount(w, r, sess, status, f)
			return
		}
		s.fail(w, r, sess, err)
		return
	}
	redirect(w, r, accountPath(a.ID), "account-created")
}

// accountData is an account's page: its roles, its password, its tokens,
// and, right after one was created, that token's secret, which is shown
// this once.
type accountData struct {
	Account     *hookshot.Account
	Self        bool // the signed-in account's own page
	Tokens      []*hookshot.Token
	Roles       *accountForm
	Password    *formErrors
	TokenForm   *tokenForm
	NewToken    *hookshot.Token
	NewSecret   string
	MinPassword int
	Expiries    []expiryChoice
	Now         time.Time
}

// accountPage loads the {id} of the path and what its page shows, or
// shows the error itself.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, sess *session) (*accountData, bool) {
	// An id that is not a number is 0, which the service answers "not
	// found", after refusing anyone but an admin.
	a, err := s.svc.Accounts.Get(r.Context(), sess.principal(), pathID(r, "id"))
	if err != nil {
		s.fail(w, r, sess, err)
		return nil, false
	}
	tokens, err := s.svc.Accounts.Tokens(r.Context(), sess.principal(), a.ID)
	if err != nil {
		s.fail(w, r, sess, err)
		return nil, false
	}
	return &accountData{
		Account: a, Self: a.ID == sess.account.ID, Tokens: tokens, Roles: rolesOf(a), Password: &formErrors{}, TokenForm: &tokenForm{},
		MinPassword: service.MinPasswordLength, Expiries: expiryChoices, Now: time.Now(),
	}, true
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, sess *session, status int, d *accountData) {
	s.render(w, r, status, "account", &view{Title: d.Account.Email, Account: sess.account, CSRF: sess.csrf, Notice: notice(r), Data: d})
}

func (s *Server) showAccount(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := s.accountPage(w, r, sess)
	if !ok {
		return
	}
	s.renderAccount(w, r, sess, http.StatusOK, d)
}

func (s *Server) updateRoles(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := s.accountPage(w, r, sess)
	if !ok {
		return
	}
	f := parseAccountForm(r)
	f.Email = d.Account.Email
	publish := parseStudies(f.Publish, "publish", &f.formErrors)
	manage := parseStudies(f.Manage, "manage", &f.formErrors)
	if d.Self && !f.Admin {
		// Nobody else may be left who could give it back.
		f.add("admin", "You cannot take the admin role from your own account; another admin can.")
	}
	d.Roles = f
	if f.Failed() {
		s.renderAccount(w, r, sess, http.StatusUnprocessableEntity, d)
		return
	}
	_, err := s.svc.Accounts.Update(r.Context(), sess.principal(), d.Account.ID, service.AccountPatch{
		Admin: &f.Admin, PublishAll: &f.PublishAll, Publish: &publish, Manage: &manage,
	})
	if err != nil {
		if f.set(err, "publish", "manage") {
			s.renderAccount(w, r, sess, http.StatusUnprocessableEntity, d)
			return
		}
		s.fail(w, r, sess, err)
		return
	}
	redirect(w, r, accountPath(d.Account.ID), "roles-saved")
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := s.accountPage(w, r, sess)
	if !ok {
		return
	}
	pw := r.PostFormValue("password")
	if pw == "" {
		// The service would take "" as "remove the password".
		d.Password.add("password", "Enter the new password.")
		s.renderAccount(w, r, sess, http.StatusUnprocessableEntity, d)
		return
	}
	if _, err := s.svc.Accounts.Update(r.Context(), sess.principal(), d.Account.ID, service.AccountPatch{Password: &pw}); err != nil {
		if d.Password.set(err, "password") {
			s.renderAccount(w, r, sess, http.StatusUnprocessableEntity, d)
			return
		}
		s.fail(w, r, sess, err)
		return
	}
	if d.Self {
		// The new password ended this session too.
		s.setCookie(w, r, sessionCookie, "", -1)
		redirect(w, r, "/login", "own-password-set")
		return
	}
	redirect(w, r, accountPath(d.Account.ID), "password-set")
}

func (s *Server) confirmDeleteAccount(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := s.accountPage(w, r, sess)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "account_delete", &view{Title: "Delete " + d.Account.Email, Account: sess.account, CSRF: sess.csrf, Data: d})
}

func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := s.accountPage(w, r, sess)
	if !ok {
		return
	}
	if d.Self {
		s.errorPage(w, r, sess, http.StatusConflict, "You cannot delete your own account while signed in with it; another admin can.")
		return
	}
	if err := s.svc.Accounts.Delete(r.Context(), sess.principal(), d.Account.ID); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	redirect(w, r, "/admin/accounts", "account-deleted")
}
