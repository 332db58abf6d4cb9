/* l10n: gettext set-up and lookups (see l10n.h). */
#include "l10n.h"

#include <libintl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SMQTT_LOCALEDIR
#define SMQTT_LOCALEDIR "/usr/local/share/locale"
#endif

static bool active;

/* <directory of the executable>/../share/locale when it exists: the
 * installed tree wherever it was installed, and the build tree (its
 * binaries are in bin/, the catalogues in share/locale/). */
static bool exe_localedir(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	struct stat st;
	int k = snprintf(buf, len, "%s/../share/locale", exe);
	return k > 0 && (size_t)k < len && stat(buf, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The locale LC_MESSAGES takes from the environment (POSIX order), or NULL. */
static const char *env_messages_locale(void)
{
	static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return v;
	}
	return NULL;
}

void l10n_init(void)
{
	/* Nothing to translate, so nothing to load: the C and POSIX locales
	 * (gettext ignores LANGUAGE there), and C.UTF-8 and the like unless
	 * LANGUAGE asks for a language. This keeps a one-shot run's start-up
	 * as it was without translations. */
	const char *e = env_messages_locale();
	const char *language = getenv("LANGUAGE");
	if (!e || !strcmp(e, "C") || !strcmp(e, "POSIX") || (!strncmp(e, "C.", 2) && !(language && *language)))
		return;
	const char *m = setlocale(LC_MESSAGES, "");
	if (!m || !strcmp(m, "C") || !strcmp(m, "POSIX")) {
		/* gettext translates nothing in the C locale, whatever LANGUAGE
		 * says: skip the rest. */
		setlocale(LC_MESSAGES, "C");
		return;
	}
	/* the character set translations are converted to */
	setlocale(LC_CTYPE, "");
	char dir[PATH_MAX + 32];
	bindtextdomain(SMQTT_TEXTDOMAIN, exe_localedir(dir, sizeof(dir)) ? dir : SMQTT_LOCALEDIR);
	/* glibc's own texts (strerror, gai_strerror) stay English, as OpenSSL's
	 * and libmosquitto's are: they appear in the JSON report and in
	 * messages mosquitto's clients print in English in every locale. */
	bindtextdomain("libc", "/nonexistent/smqtt-keeps-libc-messages-in-english");
	active = true;
}

bool l10n_active(void)
{
	return active;
}

const char *l10n_tr(const char *msgid)
{
	if (!active || !msgid || !*msgid)
		return msgid;
	return dgettext(SMQTT_TEXTDOMAIN, msgid);
}

const char *l10n_trn(const char *one, const char *many, unsigned long n)
{
	if (!active)
		return n == 1 ? one : many;
	return dngettext(SMQTT_TEXTDOMAIN, one, many, n);
}
