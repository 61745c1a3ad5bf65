package traefik

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// htpasswdHashPrefixes are the password hashes Traefik's basicAuth
// accepts: bcrypt, SHA-1 and the MD5 crypt variants (apr1 and $1$).
var htpasswdHashPrefixes = []string{"$2y$", "$2a$", "$2b$", "$2x$", "{SHA}", "$apr1$", "$1$"}

// ValidateDashboardSecret checks that s is a Secret Traefik's basicAuth
// middleware can read users from, the way Traefik reads it: a Secret of
// type kubernetes.io/basic-auth needs non-empty username and password
// keys; any other Secret must have exactly one key, holding htpasswd lines
// "user:hash" (as `htpasswd -nbB user password` prints).
func ValidateDashboardSecret(s *corev1.Secret) error {
	if s.Type == corev1.SecretTypeBasicAuth {
		var missing []string
		for _, k := range []string{corev1.BasicAuthUsernameKey, corev1.BasicAuthPasswordKey} {
			if len(s.Data[k]) == 0 {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("a Secret of type %s needs non-empty %s", corev1.SecretTypeBasicAuth, strings.Join(missing, " and "))
		}
		return nil
	}
	if len(s.Data) != 1 {
		keys := make([]string, 0, len(s.Data))
		for k := range s.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return fmt.Errorf("traefik reads htpasswd lines from the only key of the Secret, but it has %d keys %v; "+
			"keep one key (such as users) or use type %s", len(s.Data), keys, corev1.SecretTypeBasicAuth)
	}
	for k, v := range s.Data {
		if err := validateHtpasswd(v); err != nil {
			return fmt.Errorf("key %s: %w", k, err)
		}
	}
	return nil
}

// validateHtpasswd checks every non-empty line, as Traefik splits them.
func validateHtpasswd(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	users := 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		if err := validateHtpasswdLine(line); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		users++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if users == 0 {
		return errors.New("no htpasswd line (user:hash); create one with `htpasswd -nbB admin <password>`")
	}
	return nil
}

// validateHtpasswdLine checks one "user:hash" line without echoing the
// hash back.
func validateHtpasswdLine(line string) error {
	user, hash, ok := strings.Cut(line, ":")
	switch {
	case !ok:
		return errors.New("not of the form user:hash")
	case user == "" || strings.TrimSpace(user) != user:
		return errors.New("the user name is empty or has surrounding spaces")
	case hash == "":
		return fmt.Errorf("user %q has no password hash", user)
	}
	for _, p := range htpasswdHashPrefixes {
		if strings.HasPrefix(hash, p) {
			return nil
		}
	}
	return fmt.Errorf("user %q: the password is not hashed with bcrypt, SHA or MD5 (apr1); create the line with `htpasswd -nbB`", user)
}
