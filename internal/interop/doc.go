// Package interop checks the webhook package against implementations of
// the same formats that share no code with it: the Standard Webhooks
// project's Go library, and, run by Node.js, the npm packages
// standardwebhooks and jose with Node's own crypto (OpenSSL). Everything
// is in its tests; the libraries are imported only there, so the webhook
// package stays standard-library-only and Hookshot's binary does not link
// them.
//
// The npm packages are pinned in testdata/node/package-lock.json. Install
// them once with
//
//	npm ci --prefix internal/interop/testdata/node
//
// Without Node.js or the packages the Node tests skip and say so, except
// under CI=true, where they fail.
package interop
