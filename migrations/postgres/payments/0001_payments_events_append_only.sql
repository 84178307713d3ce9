-- The event store is append-only, as on SQLite (migrations/payments/0000): UPDATE and DELETE fail.
-- TRUNCATE too, since it bypasses row triggers.
CREATE FUNCTION "payments"."payments_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'payments_events is append-only';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "payments_events_no_update" BEFORE UPDATE ON "payments"."payments_events"
FOR EACH ROW EXECUTE FUNCTION "payments"."payments_events_append_only"();
--> statement-breakpoint
CREATE TRIGGER "payments_events_no_delete" BEFORE DELETE ON "payments"."payments_events"
FOR EACH ROW EXECUTE FUNCTION "payments"."payments_events_append_only"();
--> statement-breakpoint
CREATE TRIGGER "payments_events_no_truncate" BEFORE TRUNCATE ON "payments"."payments_events"
FOR EACH STATEMENT EXECUTE FUNCTION "payments"."payments_events_append_only"();
