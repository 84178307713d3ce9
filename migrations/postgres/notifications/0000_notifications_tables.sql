CREATE TABLE "notifications"."notifications_contacts" (
	"user_id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notifications"."notifications_notifications" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"event_id" text NOT NULL,
	"kind" text NOT NULL,
	"address" text NOT NULL,
	"subject" text NOT NULL,
	"body" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "notifications_notifications_event_id_unique" UNIQUE("event_id")
);
--> statement-breakpoint
CREATE INDEX "notifications_notifications_user" ON "notifications"."notifications_notifications" USING btree ("user_id","created_at","id");