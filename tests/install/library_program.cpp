// Built by install_test.sh with `pkg-config --cflags --libs corsair-worker corsair-producer`: a
// Worker with a handler and a Producer, made and destroyed without a broker (neither constructor
// touches the network), so that the static libraries and every library they need are linked.
#include <corsair/producer/producer.hpp>
#include <corsair/worker/worker.hpp>
#include <iostream>
#include <memory>
#include <spdlog/logger.h>
#include <string>
#include <zmq.hpp>

int main() {
    zmq::context_t context;
    corsair::worker::WorkerOptions worker_options;
    worker_options.broker_endpoint = "tcp://127.0.0.1:9";
    corsair::worker::Worker worker(context, worker_options, std::make_shared<spdlog::logger>("worker"));
    worker.add_handler("echo", [](const corsair::worker::JobContext& job) { return std::string(job.payload); });

    corsair::producer::ProducerOptions producer_options;
    producer_options.broker_endpoint = "tcp://127.0.0.1:9";
    corsair::producer::Producer producer(context, producer_options);
    std::cout << "worker " << corsair::worker::default_worker_name() << " producer job " << producer.new_job_id() << "\n";
    return 0;
}
