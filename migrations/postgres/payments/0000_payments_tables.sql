CREATE TABLE "payments"."payments_events" (
	"account_id" text NOT NULL,
	"version" integer NOT NULL,
	"type" text NOT NULL,
	"data" text NOT NULL,
	"schema_version" integer DEFAULT 1 NOT NULL,
	"occurred_at" bigint NOT NULL,
	CONSTRAINT "payments_events_account_id_version_pk" PRIMARY KEY("account_id","version")
);
--> statement-breakpoint
CREATE TABLE "payments"."payments_order_payments" (
	"account_id" text NOT NULL,
	"order_id" text NOT NULL,
	"status" text NOT NULL,
	"amount_cents" bigint,
	"reason" text,
	"balance_cents" bigint NOT NULL,
	CONSTRAINT "payments_order_payments_account_id_order_id_pk" PRIMARY KEY("account_id","order_id")
);
--> statement-breakpoint
CREATE TABLE "payments"."payments_snapshots" (
	"account_id" text PRIMARY KEY NOT NULL,
	"version" integer NOT NULL,
	"balance_cents" bigint NOT NULL,
	"occurred_at" bigint NOT NULL
);
