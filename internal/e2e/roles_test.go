package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cli runs a hookshot subcommand against h's database and settings and
// returns its standard output, failing the test if it fails.
func (h *Hookshot) cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := h.runCLI(stdin, args...)
	if err != nil {
		t.Fatalf("hookshot %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (h *Hookshot) runCLI(stdin string, args ...string) (string, string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = h.env
	cmd.Dir = h.dir
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

var createdAccount = regexp.MustCompile(`^created account (\d+) `)

// cliAccount creates an account with the CLI and returns its id.
func (h *Hookshot) cliAccount(t *testing.T, args ...string) int64 {
	t.Helper()
	out := h.cli(t, "", append([]string{"accounts", "create"}, args...)...)
	m := createdAccount.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("accounts create printed %q, want \"created account <id> ...\"", out)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// cliToken creates a token with the CLI and returns it.
func (h *Hookshot) cliToken(t *testing.T, email, name string, extra ...string) string {
	t.Helper()
	out := strings.TrimSpace(h.cli(t, "", append([]string{"tokens", "create", "--email", email, "--name", name}, extra...)...))
	if !strings.HasPrefix(out, "hst_") || strings.ContainsAny(out, " \n") {
		t.Fatalf("tokens create printed %q, want the token alone", out)
	}
	return out
}

type accountJSON struct {
	ID          int64   `json:"id"`
	Email       string  `json:"email"`
	HasPassword bool    `json:"has_password"`
	Admin       bool    `json:"admin"`
	PublishAll  bool    `json:"publish_all"`
	Publish     []int64 `json:"publish"`
	Manage      []int64 `json:"manage"`
}

type tokenJSON struct {
	ID         int64      `json:"id"`
	AccountID  int64      `json:"account_id"`
	Name       string     `json:"name"`
	Token      string     `json:"token"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

type auditJSON struct {
	ID      int64  `json:"id"`
	Actor   string `json:"actor"`
	Action  string `json:"action"`
	StudyID *int64 `json:"study_id"`
	Target  string `json:"target"`
	Detail  string `json:"detail"`
}

// Every role against every endpoint (SPEC §9): admins do everything; a
// publisher publishes and nothing else; a webhooks manager manages its
// studies' webhooks and deliveries, cannot publish, and gets 404 for other
// studies; expired, revoked and missing tokens get 401. Accounts are made
// with the CLI, as an operator bootstraps them.
func TestRolesAgainstEveryEndpoint(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		rc := newReceiver(t)

		// Bootstrap with the CLI while the server runs.
		adminID := h.cliAccount(t, "--email", "Root@Example.org", "--admin")
		h.cli(t, "a long enough password\n", "accounts", "create", "--email", "portal@example.org", "--password-stdin", "--manage", "189")
		h.cliAccount(t, "--email", "pub189@example.org", "--publish", "189")
		h.cliAccount(t, "--email", "puball@example.org", "--publish-all")
		mgrID := h.cliAccount(t, "--email", "mgr189@example.org")
		if out := h.cli(t, "", "accounts", "grant", "--email", "MGR189@example.org", "--manage", "189"); !strings.Contains(out, "webhooks manager of 189") {
			t.Fatalf("accounts grant printed %q", out)
		}
		list := h.cli(t, "", "accounts", "list")
		for _, want := range []string{"root@example.org", "mgr189@example.org", "all"} {
			if !strings.Contains(list, want) {
				t.Fatalf("accounts list does not show %q:\n%s", want, list)
			}
		}
		tokens := map[string]string{
			"admin token":   adminToken,
			"admin account": h.cliToken(t, "root@example.org", "ops"),
			"publisher 189": h.cliToken(t, "pub189@example.org", "pipeline"),
			"publisher all": h.cliToken(t, "puball@example.org", "pipeline"),
			"manager 189":   h.cliToken(t, "mgr189@example.org", "portal-ish", "--expires", "720h"),
			"expired":       h.cliToken(t, "root@example.org", "short-lived", "--expires", "1s"),
			"no token":      "",
		}
		// A revoked token: it works until an admin revokes it.
		var revoked tokenJSON
		h.call("POST", fmt.Sprintf("/v1/accounts/%d/tokens", adminID), map[string]any{"name": "to revoke"}).must(t, 201).JSON(t, &revoked)
		h.callAs(revoked.Token, "GET", "/v1/accounts", nil).must(t, 200)
		h.callAs(tokens["admin account"], "DELETE", fmt.Sprintf("/v1/accounts/%d/tokens/%d", adminID, revoked.ID), nil).must(t, 200)
		tokens["revoked"] = revoked.Token
		waitFor(t, 10*time.Second, "the short-lived token to expire", func() bool {
			return h.callAs(tokens["expired"], "GET", "/v1/event-types", nil).Status == 401
		})

		hook189 := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		hook190 := h.validatedWebhook(t, 190, hookBody(rc.URL, "upload"))
		hooks := map[int64]webhookJSON{189: hook189, 190: hook190}
		hookPath := func(study int64) string { return fmt.Sprintf("/v1/studies/%d/webhooks/%d", study, hooks[study].ID) }
		deliveryPath := func(study int64) string {
			return hookPath(study) + "/deliveries/" + *hooks[study].Validation.DeliveryID
		}
		// fresh creates a webhook to be deleted.
		fresh := func(study int64) func(t *testing.T) string {
			return func(t *testing.T) string {
				return fmt.Sprintf("/v1/studies/%d/webhooks/%d", study, h.createWebhook(t, study, hookBody(rc.URL, "upload")).ID)
			}
		}
		// finished waits until the delivery can be resent.
		finished := func(study int64) func(t *testing.T) string {
			return func(t *testing.T) string {
				waitFor(t, 20*time.Second, "the delivery to finish", func() bool {
					var d deliveryJSON
					h.call("GET", deliveryPath(study), nil).must(t, 200).JSON(t, &d)
					return d.Status != "in_progress"
				})
				return deliveryPath(study) + "/resend"
			}
		}
		var seq atomic.Int64
		victim := func() int64 {
			var a accountJSON
			h.call("POST", "/v1/accounts", map[string]any{"email": fmt.Sprintf("victim%d@example.org", seq.Add(1))}).must(t, 201).JSON(t, &a)
			return a.ID
		}
		victimID := victim()
		freshAccount := func(t *testing.T) string { return fmt.Sprintf("/v1/accounts/%d", victim()) }
		freshToken := func(t *testing.T) string {
			var tok tokenJSON
			h.call("POST", fmt.Sprintf("/v1/accounts/%d/tokens", victimID), map[string]any{"name": "x"}).must(t, 201).JSON(t, &tok)
			return fmt.Sprintf("/v1/accounts/%d/tokens/%d", victimID, tok.ID)
		}
		fixed := func(p string) func(t *testing.T) string { return func(*testing.T) string { return p } }
		newAccount := func() any {
			return map[string]any{"email": fmt.Sprintf("new%d@example.org", seq.Add(1)), "manage": []int64{189}}
		}
		constant := func(v any) func() any { return func() any { return v } }
		publish := func(study int64) func() any {
			return func() any { return publishBody("upload", uploadPayload(study, "started", int(seq.Add(1)))) }
		}

		// want lists the status for: admin, publisher of 189, publisher of
		// all studies, webhooks manager of 189. Expired, revoked and
		// missing tokens get 401 everywhere.
		type want struct{ admin, pub189, pubAll, mgr189 int }
		cases := []struct {
			name   string
			method string
			path   func(t *testing.T) string
			body   func() any
			want   want
		}{
			{"event types", "GET", fixed("/v1/event-types"), nil, want{200, 200, 200, 200}},
			{"publish 189", "POST", fixed("/v1/studies/189/events"), publish(189), want{202, 202, 202, 403}},
			{"publish 190", "POST", fixed("/v1/studies/190/events"), publish(190), want{202, 404, 202, 404}},
			{"list webhooks 189", "GET", fixed("/v1/studies/189/webhooks"), nil, want{200, 403, 403, 200}},
			{"list webhooks 190", "GET", fixed("/v1/studies/190/webhooks"), nil, want{200, 404, 403, 404}},
			{"create webhook 189", "POST", fixed("/v1/studies/189/webhooks"), constant(hookBody(rc.URL, "upload")), want{201, 403, 403, 201}},
			{"create webhook 190", "POST", fixed("/v1/studies/190/webhooks"), constant(hookBody(rc.URL, "upload")), want{201, 404, 403, 404}},
			{"read webhook 189", "GET", fixed(hookPath(189)), nil, want{200, 403, 403, 200}},
			{"read webhook 190", "GET", fixed(hookPath(190)), nil, want{200, 404, 403, 404}},
			{"edit webhook 189", "PATCH", fixed(hookPath(189)), constant(map[string]any{"events": []string{"upload"}}), want{200, 403, 403, 200}},
			{"edit webhook 190", "PATCH", fixed(hookPath(190)), constant(map[string]any{"events": []string{"upload"}}), want{200, 404, 403, 404}},
			{"validate webhook 189", "POST", fixed(hookPath(189) + "/validate"), nil, want{202, 403, 403, 202}},
			{"validate webhook 190", "POST", fixed(hookPath(190) + "/validate"), nil, want{202, 404, 403, 404}},
			{"disable webhook 189", "POST", fixed(hookPath(189) + "/disable"), nil, want{200, 403, 403, 200}},
			{"disable webhook 190", "POST", fixed(hookPath(190) + "/disable"), nil, want{200, 404, 403, 404}},
			{"enable webhook 189", "POST", fixed(hookPath(189) + "/enable"), nil, want{200, 403, 403, 200}},
			{"enable webhook 190", "POST", fixed(hookPath(190) + "/enable"), nil, want{200, 404, 403, 404}},
			{"list deliveries 189", "GET", fixed(hookPath(189) + "/deliveries"), nil, want{200, 403, 403, 200}},
			{"list deliveries 190", "GET", fixed(hookPath(190) + "/deliveries"), nil, want{200, 404, 403, 404}},
			{"read delivery 189", "GET", fixed(deliveryPath(189)), nil, want{200, 403, 403, 200}},
			{"read delivery 190", "GET", fixed(deliveryPath(190)), nil, want{200, 404, 403, 404}},
			{"resend delivery 189", "POST", finished(189), nil, want{202, 403, 403, 202}},
			{"resend delivery 190", "POST", finished(190), nil, want{202, 404, 403, 404}},
			{"delete webhook 189", "DELETE", fresh(189), nil, want{204, 403, 403, 204}},
			{"delete webhook 190", "DELETE", fresh(190), nil, want{204, 404, 403, 404}},
			{"list accounts", "GET", fixed("/v1/accounts"), nil, want{200, 403, 403, 403}},
			{"create account", "POST", fixed("/v1/accounts"), newAccount, want{201, 403, 403, 403}},
			{"read account", "GET", fixed(fmt.Sprintf("/v1/accounts/%d", victimID)), nil, want{200, 403, 403, 403}},
			{"edit account", "PATCH", fixed(fmt.Sprintf("/v1/accounts/%d", victimID)), constant(map[string]any{"publish": []int64{189}}), want{200, 403, 403, 403}},
			{"delete account", "DELETE", freshAccount, nil, want{204, 403, 403, 403}},
			{"create token", "POST", fixed(fmt.Sprintf("/v1/accounts/%d/tokens", victimID)), constant(map[string]any{"name": "ci", "expires_in": "1h"}), want{201, 403, 403, 403}},
			{"list tokens", "GET", fixed(fmt.Sprintf("/v1/accounts/%d/tokens", victimID)), nil, want{200, 403, 403, 403}},
			{"revoke token", "DELETE", freshToken, nil, want{200, 403, 403, 403}},
			{"audit trail", "GET", fixed("/v1/audit"), nil, want{200, 403, 403, 403}},
		}
		roles := []struct {
			name   string
			status func(w want) int
		}{
			{"admin token", func(w want) int { return w.admin }},
			{"admin account", func(w want) int { return w.admin }},
			{"publisher 189", func(w want) int { return w.pub189 }},
			{"publisher all", func(w want) int { return w.pubAll }},
			{"manager 189", func(w want) int { return w.mgr189 }},
			{"expired", func(want) int { return 401 }},
			{"revoked", func(want) int { return 401 }},
			{"no token", func(want) int { return 401 }},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				for _, role := range roles {
					var body any
					if c.body != nil {
						body = c.body()
					}
					path := c.path(t)
					r := h.callAs(tokens[role.name], c.method, path, body)
					if want := role.status(c.want); r.Status != want {
						t.Errorf("%s: %s %s answered %d, want %d: %s", role.name, c.method, path, r.Status, want, r.Body)
						if r.Status == 500 {
							t.Logf("logs:\n%s", errorLines(h.Logs()))
						}
					}
					if r.Status >= 400 && r.Header.Get("Content-Type") != "application/problem+json" {
						t.Errorf("%s: error answered as %q, not problem JSON", role.name, r.Header.Get("Content-Type"))
					}
				}
			})
		}

		// The trail names who did what, in study 189, newest first.
		var trail listJSON[auditJSON]
		h.call("GET", "/v1/audit?study_id=189&limit=200", nil).must(t, 200).JSON(t, &trail)
		seen := map[string]bool{}
		for _, e := range trail.Items {
			if e.StudyID == nil || *e.StudyID != 189 {
				t.Fatalf("audit entry %+v is not of study 189", e)
			}
			seen[e.Actor+" "+e.Action] = true
		}
		mgr := fmt.Sprintf("account:%d mgr189@example.org", mgrID)
		for _, action := range []string{"created", "changed", "validated", "enabled", "disabled", "resent", "deleted"} {
			actors := []string{"admin-token", mgr}
			if action == "enabled" || action == "disabled" {
				// The admin token went first; the manager's enable and
				// disable changed nothing, and are not recorded.
				actors = actors[:1]
			}
			for _, actor := range actors {
				if !seen[actor+" "+action] {
					t.Errorf("the audit trail of study 189 has no %q by %q", action, actor)
				}
			}
		}
		for i := 1; i < len(trail.Items); i++ {
			if trail.Items[i].ID >= trail.Items[i-1].ID {
				t.Fatalf("audit trail not newest first: %d after %d", trail.Items[i].ID, trail.Items[i-1].ID)
			}
		}
		var page listJSON[auditJSON]
		h.call("GET", "/v1/audit?limit=2", nil).must(t, 200).JSON(t, &page)
		if len(page.Items) != 2 || page.NextCursor == nil {
			t.Fatalf("first audit page %+v, want 2 entries and a cursor", page)
		}
		var next listJSON[auditJSON]
		h.call("GET", "/v1/audit?limit=2&cursor="+*page.NextCursor, nil).must(t, 200).JSON(t, &next)
		if len(next.Items) != 2 || next.Items[0].ID >= page.Items[1].ID {
			t.Fatalf("second audit page %+v does not follow %+v", next.Items, page.Items)
		}
		var all listJSON[auditJSON]
		h.call("GET", "/v1/audit?limit=200", nil).must(t, 200).JSON(t, &all)
		cliCreated := false
		for _, e := range all.Items {
			if strings.HasPrefix(e.Actor, "cli:") && e.Action == "created" && e.Target == fmt.Sprintf("account %d", mgrID) {
				cliCreated = true
			}
		}
		if !cliCreated {
			t.Errorf("the audit trail does not show the CLI creating account %d", mgrID)
		}

		// Passwords and token secrets are never shown.
		body := h.call("GET", "/v1/accounts", nil).must(t, 200).Body
		var accounts listJSON[accountJSON]
		h.call("GET", "/v1/accounts", nil).must(t, 200).JSON(t, &accounts)
		if bytes.Contains(body, []byte("argon2")) || bytes.Contains(body, []byte("a long enough password")) || bytes.Contains(body, []byte("hash")) {
			t.Fatalf("an account answer shows a password: %s", body)
		}
		for _, a := range accounts.Items {
			if a.HasPassword != (a.Email == "portal@example.org") {
				t.Errorf("account %s has_password %v", a.Email, a.HasPassword)
			}
		}
		var toks listJSON[tokenJSON]
		h.call("GET", fmt.Sprintf("/v1/accounts/%d/tokens", mgrID), nil).must(t, 200).JSON(t, &toks)
		if len(toks.Items) != 1 || toks.Items[0].Token != "" || toks.Items[0].LastUsedAt == nil || toks.Items[0].ExpiresAt == nil {
			t.Fatalf("manager's tokens %+v: want one, used, expiring, without its secret", toks.Items)
		}
		for name, tok := range tokens {
			if tok != "" && tok != adminToken && strings.Contains(h.Logs(), tok) {
				t.Fatalf("the %s token appears in the logs", name)
			}
		}
	})
}

// Grants take effect at the next request, and bad account input is
// refused with a problem document that says what to fix.
func TestAccountAdministration(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		var a accountJSON
		h.call("POST", "/v1/accounts", map[string]any{"email": "Dana@Example.org", "password": "twelve chars!", "publish": []int64{190, 189, 189}}).must(t, 201).JSON(t, &a)
		if a.Email != "dana@example.org" || fmt.Sprint(a.Publish) != "[189 190]" || !a.HasPassword || len(a.Manage) != 0 {
			t.Fatalf("created %+v", a)
		}
		var tok tokenJSON
		h.call("POST", fmt.Sprintf("/v1/accounts/%d/tokens", a.ID), map[string]any{"name": "ci"}).must(t, 201).JSON(t, &tok)
		h.callAs(tok.Token, "GET", "/v1/studies/189/webhooks", nil).must(t, 403)
		h.call("PATCH", fmt.Sprintf("/v1/accounts/%d", a.ID), map[string]any{"manage": []int64{189}}).must(t, 200)
		h.callAs(tok.Token, "GET", "/v1/studies/189/webhooks", nil).must(t, 200)
		h.call("DELETE", fmt.Sprintf("/v1/accounts/%d", a.ID), nil).must(t, 204)
		h.callAs(tok.Token, "GET", "/v1/studies/189/webhooks", nil).must(t, 401)

		cases := []struct {
			name, method, path string
			body               any
			status             int
			mention            string
		}{
			{"bad email", "POST", "/v1/accounts", map[string]any{"email": "Dana <dana@example.org>"}, 422, "email"},
			{"no email", "POST", "/v1/accounts", map[string]any{"admin": true}, 422, "email"},
			{"short password", "POST", "/v1/accounts", map[string]any{"email": "e@example.org", "password": "short"}, 422, "password"},
			{"bad study", "POST", "/v1/accounts", map[string]any{"email": "e@example.org", "manage": []int64{189, 0}}, 422, "manage[1]"},
			{"unknown field", "POST", "/v1/accounts", map[string]any{"email": "e@example.org", "role": "admin"}, 400, "role"},
			{"email change", "PATCH", "/v1/accounts/1", map[string]any{"email": "x@example.org"}, 422, "email"},
			{"unknown account", "GET", "/v1/accounts/999999", nil, 404, "999999"},
			{"token without name", "POST", fmt.Sprintf("/v1/accounts/%d/tokens", a.ID), map[string]any{}, 422, "name"},
			{"bad expiry", "POST", "/v1/accounts/1/tokens", map[string]any{"name": "x", "expires_in": "-1h"}, 422, "expires_in"},
			{"past expiry", "POST", "/v1/accounts/1/tokens", map[string]any{"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, 422, "expires_at"},
			{"unknown token", "DELETE", "/v1/accounts/1/tokens/999999", nil, 404, "999999"},
			{"bad audit filter", "GET", "/v1/audit?study_id=abc", nil, 400, "study_id"},
			{"bad audit cursor", "GET", "/v1/audit?cursor=xyz", nil, 400, "cursor"},
		}
		h.call("POST", "/v1/accounts", map[string]any{"email": "first@example.org"}).must(t, 201)
		h.call("POST", "/v1/accounts", map[string]any{"email": "FIRST@example.org"}).must(t, http.StatusConflict)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := h.call(c.method, c.path, c.body)
				if r.Status != c.status || r.Header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("status %d (%s), want %d problem JSON: %s", r.Status, r.Header.Get("Content-Type"), c.status, r.Body)
				}
				if !strings.Contains(string(r.Body), c.mention) {
					t.Fatalf("problem %s does not mention %q", r.Body, c.mention)
				}
			})
		}
	})
}

// Without HOOKSHOT_ADMIN_TOKEN, an administrator made with the CLI runs
// the service through the API.
func TestBootstrapWithoutAdminToken(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_ADMIN_TOKEN=")
		h.callAs(adminToken, "GET", "/v1/accounts", nil).must(t, 401)
		h.cli(t, "correct horse battery staple\n", "accounts", "create", "--email", "ops@example.org", "--admin", "--password-stdin")
		tok := h.cliToken(t, "ops@example.org", "bootstrap")
		var a accountJSON
		h.callAs(tok, "POST", "/v1/accounts", map[string]any{"email": "pipeline@example.org", "publish_all": true}).must(t, 201).JSON(t, &a)
		var pt tokenJSON
		h.callAs(tok, "POST", fmt.Sprintf("/v1/accounts/%d/tokens", a.ID), map[string]any{"name": "pipeline", "expires_in": "720h"}).must(t, 201).JSON(t, &pt)
		if !strings.HasPrefix(pt.Token, "hst_") || pt.ExpiresAt == nil {
			t.Fatalf("token answer %+v", pt)
		}
		h.callAs(pt.Token, "POST", "/v1/studies/189/events", publishBody("upload", uploadPayload(189, "started", 1))).must(t, 202)
		h.callAs(pt.Token, "GET", "/v1/audit", nil).must(t, 403)
		var tl listJSON[tokenJSON]
		h.callAs(tok, "GET", fmt.Sprintf("/v1/accounts/%d/tokens", a.ID), nil).must(t, 200).JSON(t, &tl)
		if len(tl.Items) != 1 || tl.Items[0].Token != "" {
			t.Fatalf("token list %+v shows a secret or is wrong", tl.Items)
		}
	})
}

// The CLI explains itself and says what is wrong.
func TestAccountsCLIErrors(t *testing.T) {
	t.Parallel()
	h := start(t, "sqlite:"+t.TempDir()+"/hookshot.db")
	for _, c := range []struct {
		args    []string
		mention string
	}{
		{[]string{"accounts", "create"}, "--email is required"},
		{[]string{"accounts", "create", "--email", "x@example.org", "--manage", "189,abc"}, `"abc" is not a study id`},
		{[]string{"accounts", "grant", "--email", "nobody@example.org", "--admin"}, "no account with the email nobody@example.org"},
		{[]string{"accounts", "grant", "--email", "nobody@example.org"}, "nothing to grant"},
		{[]string{"accounts", "frobnicate"}, `no subcommand "frobnicate"`},
		{[]string{"tokens", "create", "--email", "nobody@example.org"}, "--name are required"},
		{[]string{"tokens", "create", "--email", "nobody@example.org", "--name", "x"}, "no account with the email"},
	} {
		_, stderr, err := h.runCLI("", c.args...)
		if err == nil || !strings.Contains(stderr, c.mention) {
			t.Errorf("hookshot %s: err %v, stderr %q; want a failure mentioning %q", strings.Join(c.args, " "), err, stderr, c.mention)
		}
	}
	for _, args := range [][]string{{"accounts", "--help"}, {"accounts", "create", "--help"}, {"accounts", "grant", "--help"}, {"accounts", "list", "--help"}, {"tokens", "create", "--help"}} {
		stdout, stderr, err := h.runCLI("", args...)
		if err != nil || !strings.Contains(stdout+stderr, "Usage: hookshot "+args[0]) {
			t.Errorf("hookshot %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
		}
	}
}

// errorLines picks the server's error lines out of its logs.
func errorLines(logs string) string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=ERROR") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
