package pdsim

import (
	"bytes"
	"html/template"
	"net/http"
)

// pageTemplates are the simulator's HTML pages. html/template escapes every
// value, including client ids, emails and URLs echoed from requests.
var pageTemplates = template.Must(template.New("pages").Parse(`
{{define "head"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.}} – PagerDuty simulator</title>
<style>
body { font-family: sans-serif; max-width: 36rem; margin: 3rem auto; }
.error { color: #b00020; }
</style>
</head>
<body>
<main>
{{end}}

{{define "foot"}}</main>
</body>
</html>
{{end}}

{{define "sign_in"}}{{template "head" "Sign in"}}
<h1>Sign in to PagerDuty</h1>
<p>This is a PagerDuty simulator for tests. Sign in with the email address of a simulated user.</p>
{{if .Error}}<p id="error" class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/sign_in">
<label for="email">Email</label>
<input id="email" name="email" type="text" inputmode="email" autocomplete="username" required value="{{.Email}}">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<button id="sign-in" type="submit">Sign in</button>
</form>
{{template "foot"}}{{end}}

{{define "signed_in"}}{{template "head" "Signed in"}}
<h1>Signed in</h1>
<p id="signed-in-user">You are signed in as {{.Name}} ({{.Email}}).</p>
{{template "foot"}}{{end}}

{{define "consent"}}{{template "head" "Authorize app"}}
<h1>Authorize app</h1>
<p>The app with client id <code id="client-id">{{.ClientID}}</code> requests access to PagerDuty as
<strong id="user-name">{{.UserName}}</strong> (<span id="user-email">{{.UserEmail}}</span>).</p>
<p>Requested scopes:</p>
<ul id="scopes">
{{range .Scopes}}<li>{{.Name}}{{if not .Valid}} (not a valid scope for this app, so it will not be granted){{end}}</li>
{{end}}</ul>
<form method="post" action="/oauth/authorize/decision">
<input type="hidden" name="request_id" value="{{.RequestID}}">
<button id="authorize" name="decision" value="authorize">Authorize</button>
<button id="deny" name="decision" value="deny">Deny</button>
</form>
<form method="post" action="/sign_out">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<p>Not {{.UserName}}? <button id="sign-out" type="submit">Sign out</button></p>
</form>
{{template "foot"}}{{end}}

{{define "error"}}{{template "head" "Error"}}
<h1>Authorization request rejected</h1>
<p id="error" class="error">{{.}}</p>
<p>The simulator does not redirect back to the app after this error.</p>
{{template "foot"}}{{end}}
`))

type signInPage struct {
	Email    string
	ReturnTo string // relative authorize URL to return to after sign-in
	Error    string
}

type consentPage struct {
	ClientID  string
	UserName  string
	UserEmail string
	Scopes    []consentScope
	RequestID string // id of the pending authorization request
	ReturnTo  string // relative authorize URL to return to after sign-out
}

type consentScope struct {
	Name  string
	Valid bool
}

func renderSignIn(w http.ResponseWriter, status int, page signInPage) {
	renderPage(w, status, "sign_in", page)
}

func renderSignedIn(w http.ResponseWriter, user User) {
	renderPage(w, http.StatusOK, "signed_in", user)
}

func renderConsent(w http.ResponseWriter, page consentPage) {
	renderPage(w, http.StatusOK, "consent", page)
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, message string) {
	s.logWarn("browser request rejected", "path", r.URL.Path, "status", status, "reason", message)
	renderPage(w, status, "error", message)
}

// renderPage executes the template into a buffer first, so a template error
// becomes a 500 response and not half a page.
func renderPage(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "pdsim: rendering the "+name+" page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The consent page must not be framed, or another site could trick the
	// user into clicking Authorize (clickjacking).
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
