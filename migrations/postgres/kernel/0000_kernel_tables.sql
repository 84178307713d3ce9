CREATE TABLE "kernel_dead_letters" (
	"id" text PRIMARY KEY NOT NULL,
	"consumer" text NOT NULL,
	"queue" text NOT NULL,
	"message_id" text,
	"type" text,
	"payload" text NOT NULL,
	"error" text NOT NULL,
	"attempts" integer NOT NULL,
	"failed_at" bigint NOT NULL,
	"replayed_at" bigint
);
--> statement-breakpoint
CREATE TABLE "kernel_deliveries" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"consumer" text NOT NULL,
	"message_id" text NOT NULL,
	"partition_key" text NOT NULL,
	"envelope" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"available_at" bigint NOT NULL,
	"last_error" text
);
--> statement-breakpoint
CREATE TABLE "kernel_inbox" (
	"consumer" text NOT NULL,
	"message_id" text NOT NULL,
	"handled_at" bigint NOT NULL,
	CONSTRAINT "kernel_inbox_consumer_message_id_pk" PRIMARY KEY("consumer","message_id")
);
--> statement-breakpoint
CREATE TABLE "kernel_leases" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "kernel_outbox" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"type" text NOT NULL,
	"partition_key" text NOT NULL,
	"envelope" text NOT NULL,
	"created_at" bigint NOT NULL,
	"published_at" bigint
);
--> statement-breakpoint
CREATE TABLE "kernel_sagas" (
	"name" text NOT NULL,
	"id" text NOT NULL,
	"status" text NOT NULL,
	"step" text NOT NULL,
	"state" text NOT NULL,
	"steps" text NOT NULL,
	"reason" text,
	"correlation_id" text NOT NULL,
	"last_sent_id" text,
	"last_sent_seq" bigint,
	"deadline" bigint,
	"version" integer NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "kernel_sagas_name_id_pk" PRIMARY KEY("name","id")
);
--> statement-breakpoint
CREATE INDEX "kernel_dead_letters_consumer" ON "kernel_dead_letters" USING btree ("consumer","failed_at");--> statement-breakpoint
CREATE INDEX "kernel_dead_letters_failed" ON "kernel_dead_letters" USING btree ("failed_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "kernel_deliveries_message" ON "kernel_deliveries" USING btree ("consumer","message_id");--> statement-breakpoint
CREATE INDEX "kernel_outbox_pending" ON "kernel_outbox" USING btree ("seq") WHERE published_at IS NULL;--> statement-breakpoint
CREATE INDEX "kernel_sagas_deadline" ON "kernel_sagas" USING btree ("deadline") WHERE deadline IS NOT NULL;--> statement-breakpoint
CREATE INDEX "kernel_sagas_status" ON "kernel_sagas" USING btree ("status");--> statement-breakpoint
CREATE INDEX "kernel_sagas_created" ON "kernel_sagas" USING btree ("created_at","name","id");