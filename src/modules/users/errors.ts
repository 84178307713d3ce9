/** The problem codes of the users routes (served at /docs/errors). */
export const usersErrors = {
  USERS_EMAIL_TAKEN: 'An account with this email exists: sign in instead.',
  USERS_INVALID_CREDENTIALS:
    'The email or the password is wrong (which one is not said). Failed attempts count against the sign-in limits: see HTTP_RATE_LIMITED.',
  USERS_BUSY:
    'Too many sign-ins or sign-ups wait for password hashing at once: try again after the seconds `retry-after` gives. It does not count as a failed attempt.',
  USERS_NOT_FOUND:
    'The account the token was issued to no longer exists, or (admin routes) no account has this id.',
  USERS_WRONG_PASSWORD:
    'The current password given to change it is wrong (or it changed while the request waited). It counts against the sign-in limits like a failed login.',
  USERS_ACCOUNT_PROTECTED:
    'An admin cannot demote or delete their own account (ask another admin), nor the account ADMIN_EMAIL configures (the seed would re-create it, or refuse to start on a demoted one: change ADMIN_EMAIL instead).',
} as const;
