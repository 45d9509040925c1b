package config

// Secret is a string that never prints: webhook secrets, tokens, passwords
// and Slack webhook URLs. Use Reveal where the value itself is needed.
type Secret string

// Masked is what a set Secret prints as.
const Masked = "********"

// String returns Masked for a set secret and "" for an empty one.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Masked
}

// GoString masks the secret under %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalText masks the secret in JSON and in log fields.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }
