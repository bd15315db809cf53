#include "source/fallback_source.h"

#include "hlsd/log.h"

namespace hlsd {

FallbackSource::FallbackSource(std::unique_ptr<Source> primary, std::unique_ptr<Source> fallback)
    : primary_(std::move(primary)), fallback_(std::move(fallback)), active_(primary_.get()) {}

StreamInfo FallbackSource::open() {
    if (active_ == primary_.get()) {
        try {
            return primary_->open();
        } catch (const SourceError& e) {
            if (!e.permanent()) throw;
            logger("source")->warn("source auto: {}; using {} instead", e.what(),
                                   fallback_->name());
            primary_->close();
            active_ = fallback_.get();
        }
    }
    return active_->open();
}

void FallbackSource::interrupt() {
    primary_->interrupt();
    fallback_->interrupt();
}

}  // namespace hlsd
