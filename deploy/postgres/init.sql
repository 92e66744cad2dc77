-- One database per service: a service never reads another service's data.
-- The postgres image runs this once, on the first start with an empty data
-- volume, as POSTGRES_USER, who therefore owns every database.
--
-- Compose uses that single role for brevity. Where isolation must be enforced
-- (Kubernetes, production) give each service its own role or managed instance:
-- deploy/k8s/secret.example.yaml holds one DATABASE_URL per service for that.
--
-- Keep this list in step with docker-compose.yml (tests/deploy checks it).
CREATE DATABASE grid_registry;
CREATE DATABASE incidents;
CREATE DATABASE dispatch;
CREATE DATABASE assessment;
CREATE DATABASE rewards;
-- The gateway's own: it runs on the service kit, whose web runtime opens a
-- database (kit tables) and which refuses SQLite in production.
CREATE DATABASE gateway;
