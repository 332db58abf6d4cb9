/* l10n: smqtt's messages in the user's language through GNU gettext (text
 * domain "smqtt"). Strings are marked N_() where they are defined (the cause
 * table, the option table, diag's fixed phrases) and looked up with _() where
 * they are rendered. Only LC_MESSAGES and LC_CTYPE follow the environment:
 * numbers, dates and everything on stdout keep the C locale. */
#ifndef SMQTT_L10N_H
#define SMQTT_L10N_H

#include <stdbool.h>

#define SMQTT_TEXTDOMAIN "smqtt"

/* Mark a string for extraction by xgettext without looking it up. */
#define N_(s) (s)
/* Look a string up in the catalogue. */
#define _(s) l10n_tr(s)

/* Select the locale (LC_MESSAGES, LC_CTYPE) from the environment and bind
 * the text domain, unless messages are in the C/POSIX locale: then nothing
 * else is done and every lookup returns its argument. */
void l10n_init(void);

/* True when a catalogue may translate messages (the locale is not C). */
bool l10n_active(void);

/* The translation of msgid, or msgid itself. */
const char *l10n_tr(const char *msgid);

/* The translation of one/many for the count n (plural forms). */
const char *l10n_trn(const char *one, const char *many, unsigned long n);

/* Sentences that go into the JSON report are built twice: lang 0 in
 * English (for --diag-format json and the finding's English text), lang 1
 * in the user's language (for the text on stderr or --check). L_() marks
 * the English format and picks the one for lang. */
#define L_(lang, s) ((lang) ? l10n_tr(s) : (s))
#define LN_(lang, one, many, n) ((lang) ? l10n_trn(one, many, n) : ((n) == 1 ? (one) : (many)))
#define EACH_LANG(lang) for (int lang = 0; lang < 2; lang++)

#endif
