CREATE TABLE "kernel_accounts" (
	"user_id" text PRIMARY KEY NOT NULL,
	"role" text NOT NULL,
	"token_version" integer NOT NULL,
	"deleted" integer NOT NULL,
	"seq" bigint NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "kernel_accounts_seq" ON "kernel_accounts" USING btree ("seq");