import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { HttpApp } from '../../../kernel/index.js';

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Asserts a 401 for a token its account's change (or deletion) has retired. */
export function expectRevoked(response: LightMyRequestResponse): void {
  expect(response.statusCode, response.body).toBe(401);
  expect(response.json()).toMatchObject({ status: 401, code: 'AUTH_TOKEN_REVOKED' });
}

/**
 * The users routes as specs call them, on the app that runs users (read through `app` at each
 * call, so a spec may restart it). Accounts are `<name>@<domain>` with one password.
 */
export class AccountsClient {
  readonly #app: () => HttpApp;
  readonly #domain: string;
  readonly password: string;

  constructor(app: () => HttpApp, domain: string, password: string) {
    this.#app = app;
    this.#domain = domain;
    this.password = password;
  }

  emailOf(name: string): string {
    return `${name}@${this.#domain}`;
  }

  /** A token for the account, failing the spec unless the login answers 200. */
  async login(email: string, password = this.password): Promise<string> {
    const response = await this.#app().inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password },
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().token;
  }

  /** A new account `name`, failing the spec unless the sign-up answers 201. */
  async register(name: string): Promise<{ id: string; email: string }> {
    const email = this.emailOf(name);
    const response = await this.#app().inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: this.password, name },
    });
    expect(response.statusCode, response.body).toBe(201);
    return { id: response.json().id, email };
  }

  setRole(token: string, id: string, role: unknown): Promise<LightMyRequestResponse> {
    return this.#app().inject({
      method: 'POST',
      url: `/users/${id}/role`,
      payload: { role },
      headers: bearer(token),
    });
  }

  remove(token: string, id: string): Promise<LightMyRequestResponse> {
    return this.#app().inject({ method: 'DELETE', url: `/users/${id}`, headers: bearer(token) });
  }

  changePassword(
    token: string,
    currentPassword: string,
    newPassword: string,
  ): Promise<LightMyRequestResponse> {
    return this.#app().inject({
      method: 'POST',
      url: '/users/me/password',
      payload: { currentPassword, newPassword },
      headers: bearer(token),
    });
  }
}
