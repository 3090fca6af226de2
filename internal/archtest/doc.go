// Package archtest holds the tests of hoist's package structure: which
// packages may depend on which. It has no code of its own.
package archtest
