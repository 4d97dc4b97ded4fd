// The recording writer checked against the reference tools (opusinfo, opusdec,
// ffprobe), its own reader, and a test-side Goertzel analyser.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <set>
#include <thread>

#include "codec/generators.hpp"
#include "codec/ogg_opus.hpp"
#include "codec/ogg_opus_reader.hpp"
#include "codec/ogg_repair.hpp"
#include "codec/wav.hpp"
#include "tests/require_tools.hpp"
#include "tests/unit/recording_test_support.hpp"

namespace deskline::codec {
namespace {

using namespace testing_support;

constexpr double tone_hz = 1000;
constexpr double tone_dbm0 = -10;

Samples test_tone(std::uint32_t rate_hz, double seconds) {
  const double frequencies[] = {tone_hz};
  return tone(rate_hz, frequencies, tone_dbm0, seconds);
}

// Stores up to `limit` bytes, then fails with ENOSPC (keeping the part of the
// failing write that fit, as a full disk does).
class FullDiskSink final : public PageSink {
 public:
  explicit FullDiskSink(std::size_t limit) : limit_(limit) {}
  std::error_code write(std::span<const std::uint8_t> bytes) override {
    const std::size_t room = limit_ - std::min(limit_, bytes_.size());
    bytes_.insert(bytes_.end(), bytes.begin(),
                  bytes.begin() + static_cast<std::ptrdiff_t>(std::min(room, bytes.size())));
    if (bytes.size() > room) return std::make_error_code(std::errc::no_space_on_device);
    return {};
  }
  const Bytes& bytes() const { return bytes_; }

 private:
  std::size_t limit_;
  Bytes bytes_;
};

class OggOpusRateTest : public ::testing::TestWithParam<std::uint32_t> {};
INSTANTIATE_TEST_SUITE_P(NativeRates, OggOpusRateTest, ::testing::Values(8000u, 16000u),
                         [](const auto& info) { return std::to_string(info.param) + "Hz"; });

TEST_P(OggOpusRateTest, OpusinfoAndFfprobeAcceptTheFile) {
  if (!have_tool("opusinfo") || !have_tool("ffprobe")) SKIP_OR_FAIL_MISSING() << "opus-tools or ffmpeg not installed";
  const std::uint32_t rate = GetParam();
  const auto samples = test_tone(rate, 3.0);
  TempDir dir;
  const auto path = dir / "tone.opus";
  write_file(path, encode_to_bytes(samples, {.rate_hz = rate}, {"DESKLINE_CALL_ID=c-42", "NUMBER=+4930123456"}));

  std::string output;
  EXPECT_EQ(run_command("opusinfo " + path.string(), output), 0) << output;
  EXPECT_TRUE(opusinfo_clean(output)) << output;
  EXPECT_NE(output.find("Original sample rate: " + std::to_string(rate) + " Hz"), std::string::npos) << output;
  EXPECT_NE(output.find("Playback length: 0m:03.000s"), std::string::npos) << output;
  EXPECT_NE(output.find("DESKLINE_CALL_ID=c-42"), std::string::npos) << output;

  ASSERT_EQ(run_command("ffprobe -v error -show_entries stream=codec_name,channels:format=duration "
                        "-of default=noprint_wrappers=1 " +
                            path.string(),
                        output),
            0)
      << output;
  EXPECT_NE(output.find("codec_name=opus"), std::string::npos) << output;
  EXPECT_NE(output.find("channels=1"), std::string::npos) << output;
  const auto duration_at = output.find("duration=");
  ASSERT_NE(duration_at, std::string::npos) << output;
  // ffprobe's container duration counts the pre-skip (6.5 ms) too.
  EXPECT_NEAR(std::stod(output.substr(duration_at + 9)), 3.0, 0.02) << output;
}

TEST_P(OggOpusRateTest, OpusdecOutputHasTheToneAtItsFrequencyAndLevel) {
  if (!have_tool("opusdec")) SKIP_OR_FAIL_MISSING() << "opus-tools not installed";
  const std::uint32_t rate = GetParam();
  const auto samples = test_tone(rate, 2.0);
  TempDir dir;
  write_file(dir / "tone.opus", encode_to_bytes(samples, {.rate_hz = rate}));
  std::string output;
  ASSERT_EQ(run_command("opusdec --quiet --rate " + std::to_string(rate) + " " + (dir / "tone.opus").string() + " " +
                            (dir / "tone.wav").string(),
                        output),
            0)
      << output;
  const auto parsed = parse_wav(read_file(dir / "tone.wav"));
  ASSERT_TRUE(parsed) << parsed.error;
  ASSERT_EQ(parsed.audio->rate_hz, rate);
  // opusdec trims pre-skip and end padding: the same length as the input.
  EXPECT_NEAR(static_cast<double>(parsed.audio->samples.size()), static_cast<double>(samples.size()), rate / 50.0);

  // The middle second, away from the encoder's start-up.
  const auto middle = std::span<const std::int16_t>(parsed.audio->samples).subspan(rate / 2, rate);
  EXPECT_NEAR(peak_frequency(middle, rate, tone_hz - 20, tone_hz + 20), tone_hz, 2.0);
  EXPECT_NEAR(rms_dbm0(middle), tone_dbm0, 2.0);
  const double expected_amplitude = dbm0_to_peak(tone_dbm0);
  EXPECT_NEAR(20 * std::log10(tone_amplitude(middle, rate, tone_hz) / expected_amplitude), 0.0, 2.0);
}

TEST_P(OggOpusRateTest, OwnReaderDecodesTheToneAndTheExactLength) {
  const std::uint32_t rate = GetParam();
  for (const std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{159}, std::size_t{160}, std::size_t{161},
                                   std::size_t{rate}, std::size_t{12345}, std::size_t{3 * rate + 7}}) {
    auto samples = test_tone(rate, 4.0);
    samples.resize(length);
    const auto bytes = encode_to_bytes(samples, {.rate_hz = rate});
    const auto decoded = decode_ogg_opus(bytes);
    ASSERT_TRUE(decoded) << decoded.error;
    EXPECT_TRUE(decoded.complete);
    EXPECT_EQ(decoded.rate_hz, rate);
    EXPECT_EQ(decoded.frames(), length) << "input of " << length << " samples";
    // The EOS granule says exactly how much audio there is.
    const auto pages = pages_of(bytes);
    ASSERT_FALSE(pages.empty());
    EXPECT_TRUE(pages.back().page.eos());
    EXPECT_EQ(pages.back().page.granule, decoded.head.pre_skip + static_cast<std::int64_t>(length * (48000 / rate)));
    if (length >= 2 * rate) {
      const auto middle = std::span<const std::int16_t>(decoded.samples).subspan(rate / 2, rate);
      EXPECT_NEAR(peak_frequency(middle, rate, tone_hz - 20, tone_hz + 20), tone_hz, 2.0);
      EXPECT_NEAR(rms_dbm0(middle), tone_dbm0, 2.0);
    }
  }
}

TEST_P(OggOpusRateTest, HeadersFollowRfc7845) {
  const std::uint32_t rate = GetParam();
  const auto bytes = encode_to_bytes(test_tone(rate, 0.5), {.rate_hz = rate}, {"LINE=3", "DIRECTION=inbound"});
  const auto pages = pages_of(bytes);
  ASSERT_GE(pages.size(), 3u);
  // OpusHead alone on a BOS page, OpusTags alone on the next, both granule 0.
  EXPECT_TRUE(pages[0].page.bos());
  EXPECT_EQ(pages[0].page.lacing.size(), 1u);
  EXPECT_EQ(pages[0].page.granule, 0);
  EXPECT_EQ(pages[1].page.granule, 0);
  EXPECT_EQ(pages[1].page.packets_completed(), 1u);
  std::string why;
  const auto head = parse_opus_head(pages[0].page.body, why);
  ASSERT_TRUE(head) << why;
  EXPECT_EQ(head->version, 1);
  EXPECT_EQ(head->channels, 1);
  EXPECT_EQ(head->input_rate_hz, rate);
  EXPECT_EQ(head->output_gain_q8, 0);
  EXPECT_EQ(head->mapping_family, 0);
  // libopus's lookahead is 6.5 ms at every rate: 312 samples at 48 kHz.
  EXPECT_EQ(head->pre_skip, 312);
  const auto tags = parse_opus_tags(pages[1].page.body, why);
  ASSERT_TRUE(tags) << why;
  EXPECT_EQ(tags->vendor, "deskline " DESKLINE_VERSION);
  EXPECT_EQ(tags->comments, (std::vector<std::string>{"LINE=3", "DIRECTION=inbound"}));
}

TEST(OggOpusWriter, TagsCarryTheCallersComments) {
  const std::vector<std::string> comments{"DESKLINE_CALL_ID=0190b5a2-7c3e",
                                          "LINE=2",
                                          "DIRECTION=outbound",
                                          "NUMBER=+8613800138000",
                                          "START_TIME=2024-05-01T09:30:00Z",
                                          "CUSTOMER=Zhāng Wěi"};
  const auto decoded = decode_ogg_opus(encode_to_bytes(test_tone(8000, 0.2), {}, comments));
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(decoded.tags.comments, comments);
  EXPECT_EQ(find_opus_comment(decoded.tags, "deskline_call_id"), "0190b5a2-7c3e");
  EXPECT_EQ(find_opus_comment(decoded.tags, "CUSTOMER"), "Zhāng Wěi");
  EXPECT_EQ(find_opus_comment(decoded.tags, "MISSING"), std::nullopt);
}

TEST(OggOpusWriter, HandsAPageToTheSinkEvery200MsOfAudio) {
  MemorySink sink;
  std::error_code error;
  auto writer = OggOpusWriter::create({}, {}, sink, error);
  ASSERT_TRUE(writer) << error.message();
  const std::size_t header_bytes = sink.bytes().size();
  EXPECT_EQ(writer->pages_out(), 2u);  // headers are on disk before any audio
  // Feed 10 ms blocks as an audio callback would: a page appears after 200 ms.
  const auto samples = test_tone(8000, 1.0);
  for (std::size_t block = 0; block < 100; ++block) {
    ASSERT_FALSE(writer->write(std::span<const std::int16_t>(samples).subspan(block * 80, 80)));
    const std::size_t expected_pages = 2 + (block + 1) / 20;
    ASSERT_EQ(writer->pages_out(), expected_pages) << "after " << (block + 1) * 10 << " ms";
  }
  EXPECT_GT(sink.bytes().size(), header_bytes);
  EXPECT_EQ(writer->bytes_out(), sink.bytes().size());
  ASSERT_FALSE(writer->finish());

  // Every audio page of a longer file covers at most 200 ms (9600 at 48 kHz).
  const auto bytes = encode_to_bytes(test_tone(16000, 7.3), {.rate_hz = 16000});
  const auto pages = pages_of(bytes);
  std::int64_t previous_granule = 0;
  for (std::size_t index = 2; index < pages.size(); ++index) {
    EXPECT_LE(pages[index].page.granule - previous_granule, 9600) << "page " << index;
    EXPECT_GE(pages[index].page.granule, previous_granule);
    previous_granule = pages[index].page.granule;
  }
  EXPECT_EQ(pages.size(), 2u + 37u);  // 7.3 s + lookahead = 366 frames in pages of 10
}

TEST(OggOpusWriter, PageDurationIsConfigurable) {
  const auto bytes = encode_to_bytes(test_tone(8000, 1.0), {.page_ms = 60});
  const auto pages = pages_of(bytes);
  for (std::size_t index = 2; index + 1 < pages.size(); ++index)
    EXPECT_EQ(pages[index].page.packets_completed(), 3u) << "page " << index;
}

TEST(OggOpusWriter, SerialsDifferBetweenFiles) {
  std::set<std::uint32_t> serials;
  for (int file = 0; file < 8; ++file) {
    MemorySink sink;
    std::error_code error;
    auto writer = OggOpusWriter::create({}, {}, sink, error);
    ASSERT_TRUE(writer);
    ASSERT_FALSE(writer->finish());
    const auto pages = pages_of(sink.bytes());
    for (const auto& page : pages) EXPECT_EQ(page.page.serial, writer->serial());
    serials.insert(writer->serial());
  }
  EXPECT_EQ(serials.size(), 8u);
}

TEST(OggOpusWriter, RefusesUnsupportedSettings) {
  MemorySink sink;
  std::error_code error;
  EXPECT_FALSE(OggOpusWriter::create({.rate_hz = 44100}, {}, sink, error));
  EXPECT_EQ(error, OpusWriterError::unsupported_rate);
  EXPECT_FALSE(OggOpusWriter::create({.rate_hz = 48000}, {}, sink, error));
  EXPECT_EQ(error, OpusWriterError::unsupported_rate);
  EXPECT_FALSE(OggOpusWriter::create({.bitrate_bps = 500}, {}, sink, error));
  EXPECT_EQ(error, OpusWriterError::invalid_bitrate);
  EXPECT_FALSE(OggOpusWriter::create({.complexity = 11}, {}, sink, error));
  EXPECT_EQ(error, OpusWriterError::invalid_complexity);
  EXPECT_FALSE(OggOpusWriter::create({.page_ms = 30}, {}, sink, error));
  EXPECT_EQ(error, OpusWriterError::invalid_page_duration);
  EXPECT_FALSE(OggOpusWriter::create({}, {"NO_EQUALS_SIGN"}, sink, error));
  EXPECT_EQ(error, OpusWriterError::invalid_comment);
  EXPECT_FALSE(OggOpusWriter::create({}, {"=value"}, sink, error));
  EXPECT_EQ(error, OpusWriterError::invalid_comment);
  EXPECT_TRUE(sink.bytes().empty());
  EXPECT_FALSE(error.message().empty());
}

TEST(OggOpusWriter, NothingAfterFinish) {
  MemorySink sink;
  std::error_code error;
  auto writer = OggOpusWriter::create({}, {}, sink, error);
  ASSERT_TRUE(writer);
  const auto samples = test_tone(8000, 0.1);
  ASSERT_FALSE(writer->write(samples));
  ASSERT_FALSE(writer->finish());
  const auto size = sink.bytes().size();
  EXPECT_EQ(writer->write(samples), OpusWriterError::already_finished);
  EXPECT_EQ(writer->finish(), OpusWriterError::already_finished);
  EXPECT_EQ(sink.bytes().size(), size);
  EXPECT_TRUE(writer->finished());
  EXPECT_DOUBLE_EQ(writer->duration_s(), 0.1);
}

TEST(OggOpusWriter, SinkFailureIsReportedAndTheBytesBeforeStillDecode) {
  const auto samples = test_tone(8000, 5.0);
  const Bytes complete = encode_to_bytes(samples);
  // Full disk at the headers, mid-page, and near the end.
  for (const std::size_t limit : {std::size_t{10}, std::size_t{120}, complete.size() / 3, complete.size() - 20}) {
    FullDiskSink sink(limit);
    std::error_code error;
    auto writer = OggOpusWriter::create({}, {}, sink, error);
    if (!writer) {
      EXPECT_EQ(error, std::errc::no_space_on_device) << "limit " << limit;
      continue;
    }
    for (std::size_t offset = 0; offset < samples.size() && !error; offset += 160)
      error = writer->write(std::span<const std::int16_t>(samples).subspan(offset, 160));
    if (!error) error = writer->finish();
    ASSERT_EQ(error, std::errc::no_space_on_device) << "limit " << limit;
    // The writer stays failed and writes nothing more.
    const auto stored = sink.bytes().size();
    EXPECT_EQ(writer->write(samples), std::errc::no_space_on_device);
    EXPECT_EQ(writer->finish(), std::errc::no_space_on_device);
    EXPECT_EQ(writer->error(), std::errc::no_space_on_device);
    EXPECT_EQ(sink.bytes().size(), stored);

    const auto decoded = decode_ogg_opus(sink.bytes());
    ASSERT_TRUE(decoded) << "limit " << limit << ": " << decoded.error;
    EXPECT_FALSE(decoded.complete);
    // Everything on the pages that fit is there, up to one page short.
    const double expected_s = static_cast<double>(limit) / static_cast<double>(complete.size()) * 5.0;
    EXPECT_NEAR(decoded.duration_s(), expected_s, 0.5) << "limit " << limit;
    const auto plan = plan_ogg_repair(sink.bytes());
    EXPECT_EQ(plan.verdict, RepairVerdict::repairable) << plan.reason;
    EXPECT_EQ(plan.duration_samples, decoded.frames());
  }
}

// Lowers RLIMIT_FSIZE (with SIGXFSZ ignored, so write(2) fails with EFBIG
// instead of killing the process) until lift() or the end of the scope.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &previous_);
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = previous_;
    limited.rlim_cur = bytes;
    applied_ = ::setrlimit(RLIMIT_FSIZE, &limited) == 0;
    if (!applied_) std::signal(SIGXFSZ, previous_handler_);
  }
  ~FileSizeLimit() { lift(); }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  bool applied() const { return applied_; }
  void lift() {
    if (!applied_) return;
    ::setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_handler_);
    applied_ = false;
  }

 private:
  rlimit previous_{};
  void (*previous_handler_)(int) = SIG_DFL;
  bool applied_ = false;
};

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

// A new empty file in a folder removed with the test, open for writing.
struct ScratchFile {
  TempDir dir;
  std::filesystem::path path = dir / "out.opus";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
};

TEST(FdSink, WritesWholePagesAndReportsErrno) {
  ScratchFile file;
  ASSERT_GE(file.fd, 0);
  {
    FdSink sink(file.fd);
    std::error_code error;
    auto writer = OggOpusWriter::create({}, {"LINE=1"}, sink, error);
    ASSERT_TRUE(writer) << error.message();
    ASSERT_FALSE(writer->write(test_tone(8000, 1.0)));
    ASSERT_FALSE(writer->finish());
    EXPECT_EQ(sink.bytes_written(), writer->bytes_out());
  }
  ::close(file.fd);
  const auto decoded = decode_ogg_opus(read_file(file.path));
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(decoded.frames(), 8000u);

  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (full < 0) SKIP_OR_FAIL_MISSING() << "no /dev/full";
  FdSink sink(full);
  const Bytes page(100, 0x55);
  EXPECT_EQ(sink.write(page), std::errc::no_space_on_device);
  EXPECT_EQ(sink.bytes_written(), 0u);
  ::close(full);
}

TEST(FdSink, CloseWithALaterSyncStillClosesAnOwnedFileWhole) {
  ScratchFile file;
  ASSERT_GE(file.fd, 0);
  FdSink sink(file.fd, FdSink::Ownership::owned);
  std::error_code error;
  auto writer = OggOpusWriter::create({}, {}, sink, error);
  ASSERT_TRUE(writer) << error.message();
  ASSERT_FALSE(writer->write(test_tone(8000, 0.5)));
  ASSERT_FALSE(writer->finish());
  EXPECT_FALSE(sink.close(FdSink::Sync::later));
  EXPECT_FALSE(is_open(file.fd));  // closed: the sink owned it
  EXPECT_EQ(sink.write(std::vector<std::uint8_t>{1}), std::errc::bad_file_descriptor);
  const auto decoded = decode_ogg_opus(read_file(file.path));
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(decoded.frames(), 4000u);
}

TEST(FdSink, CutsATornPageOffWhenTheFileLimitIsHit) {
  // RLIMIT_FSIZE makes write(2) stop short then fail with EFBIG, as a disk
  // filling up mid-page does; the sink must leave only whole pages.
  ScratchFile file;
  ASSERT_GE(file.fd, 0);
  FileSizeLimit limit(2000);
  ASSERT_TRUE(limit.applied());

  FdSink sink(file.fd);
  std::error_code error;
  auto writer = OggOpusWriter::create({}, {}, sink, error);
  if (writer) {
    error = writer->write(test_tone(8000, 3.0));
    if (!error) error = writer->finish();
  }
  limit.lift();
  ::close(file.fd);

  EXPECT_EQ(error, std::errc::file_too_large);
  const auto bytes = read_file(file.path);
  EXPECT_LE(bytes.size(), 2000u);
  EXPECT_EQ(bytes.size(), sink.bytes_written());
  const auto walk = walk_ogg_stream(bytes);
  EXPECT_EQ(walk.end, OggWalkEnd::end_of_data) << "the file must end on a page boundary";
  EXPECT_EQ(walk.valid_bytes, bytes.size());
}

TEST(FdSink, FirstFailureSticksAndLeavesTheFileAlone) {
  ScratchFile file;
  ASSERT_GE(file.fd, 0);
  FdSink sink(file.fd, FdSink::Ownership::owned);
  const Bytes page(1000, 0x4F);
  {
    FileSizeLimit limit(1500);
    ASSERT_TRUE(limit.applied());
    EXPECT_FALSE(sink.write(page));
    EXPECT_EQ(sink.write(page), std::errc::file_too_large);
  }
  // The disk has room again, but a page after a torn one would leave a hole.
  EXPECT_EQ(sink.write(page), std::errc::file_too_large);
  EXPECT_EQ(sink.error(), std::errc::file_too_large);
  EXPECT_EQ(sink.bytes_written(), 1000u);
  EXPECT_EQ(read_file(file.path).size(), 1000u);
}

TEST(FdSink, RemembersWhereTheLastWholePageEndsAfterExistingBytes) {
  ScratchFile file;
  ASSERT_GE(file.fd, 0);
  const Bytes prefix(100, 0x11), page(1000, 0x22);
  ASSERT_EQ(::write(file.fd, prefix.data(), prefix.size()), 100);
  FdSink sink(file.fd);
  EXPECT_FALSE(sink.trim_to_last_page()) << "nothing torn yet: a no-op";
  {
    FileSizeLimit limit(1600);
    ASSERT_TRUE(limit.applied());
    EXPECT_FALSE(sink.write(page));
    EXPECT_EQ(sink.write(page), std::errc::file_too_large);
  }
  EXPECT_FALSE(sink.trim_to_last_page());
  EXPECT_EQ(::lseek(file.fd, 0, SEEK_CUR), 1100) << "the next byte would start a page";
  ::close(file.fd);
  const auto bytes = read_file(file.path);
  ASSERT_EQ(bytes.size(), 1100u);
  EXPECT_EQ(bytes[99], 0x11);
  EXPECT_EQ(bytes[1099], 0x22);
}

TEST(FdSink, TornPageOnAPipeCannotBeCut) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK), 0);
  FdSink sink(pipe_fds[1], FdSink::Ownership::owned);
  const Bytes page(1 << 20, 0x33);  // more than a pipe holds: written in part, then EAGAIN
  EXPECT_EQ(sink.write(page), std::errc::resource_unavailable_try_again);
  EXPECT_EQ(sink.bytes_written(), 0u);
  EXPECT_EQ(sink.trim_to_last_page(), std::errc::invalid_seek);
  ::close(pipe_fds[0]);
}

TEST(FdSink, ClosesAnOwnedDescriptorButNotABorrowedOne) {
  int owned[2], borrowed[2];
  ASSERT_EQ(::pipe2(owned, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(borrowed, O_CLOEXEC), 0);
  {
    FdSink owning(owned[1], FdSink::Ownership::owned);
    FdSink borrowing(borrowed[1]);
  }
  EXPECT_FALSE(is_open(owned[1]));
  EXPECT_TRUE(is_open(borrowed[1]));
  for (int fd : {owned[0], borrowed[0], borrowed[1]}) ::close(fd);
}

TEST(FdSink, CloseSyncsClosesAndReportsTheFirstError) {
  ScratchFile file;
  ASSERT_GE(file.fd, 0);
  FdSink sink(file.fd, FdSink::Ownership::owned);
  EXPECT_FALSE(sink.write(Bytes(10, 0x44)));
  EXPECT_FALSE(sink.close());
  EXPECT_FALSE(is_open(file.fd));
  EXPECT_EQ(sink.write(Bytes(10, 0x44)), std::errc::bad_file_descriptor);
  EXPECT_EQ(read_file(file.path).size(), 10u);

  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  FdSink pipe(pipe_fds[1]);
  EXPECT_EQ(pipe.close(), std::errc::invalid_argument) << "a pipe cannot be synced";
  EXPECT_TRUE(is_open(pipe_fds[1])) << "borrowed: its owner closes it";
  for (int end : pipe_fds) ::close(end);
}

std::atomic<int> interruptions{0};

TEST(FdSink, RetriesInterruptedAndShortWrites) {
  // A page larger than the pipe: write(2) blocks once the pipe is full, and
  // signals (without SA_RESTART) cut it short or fail it with EINTR.
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  struct sigaction action {}, previous {};
  action.sa_handler = [](int) { interruptions.fetch_add(1); };
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  ASSERT_EQ(::sigaction(SIGUSR1, &action, &previous), 0);
  interruptions = 0;

  Bytes page(256 * 1024);
  for (std::size_t i = 0; i < page.size(); ++i) page[i] = static_cast<std::uint8_t>(i * 7);
  const pthread_t writer_thread = ::pthread_self();
  Bytes received;
  std::thread reader([&] {
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ::pthread_kill(writer_thread, SIGUSR1);
    }
    std::uint8_t buffer[65536];
    while (received.size() < page.size()) {
      const ssize_t count = ::read(pipe_fds[0], buffer, sizeof buffer);
      if (count <= 0) break;
      received.insert(received.end(), buffer, buffer + count);
    }
  });
  FdSink sink(pipe_fds[1]);
  const auto error = sink.write(page);
  reader.join();
  ::sigaction(SIGUSR1, &previous, nullptr);
  for (int end : pipe_fds) ::close(end);

  EXPECT_FALSE(error) << error.message();
  EXPECT_GE(interruptions.load(), 1);
  EXPECT_EQ(sink.bytes_written(), page.size());
  EXPECT_EQ(received, page);
}

}  // namespace
}  // namespace deskline::codec
