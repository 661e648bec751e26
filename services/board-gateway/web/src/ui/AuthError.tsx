// Shown, alone, when the board link's token is missing, expired or refused (401/403).
export const AUTH_MESSAGE = 'This link has expired or is not valid — ask for a new board link';

export function AuthErrorPage() {
  return (
    <main class="auth-error" data-testid="auth-error">
      <h1>{AUTH_MESSAGE}</h1>
    </main>
  );
}
