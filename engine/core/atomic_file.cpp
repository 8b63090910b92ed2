#include "atomic_file.h"

#include "error.h"
#include "json_io.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace basis {

void writeFileAtomically(const std::filesystem::path& path, const std::string& content)
{
    std::string tmpl = path.string() + ".tmp-XXXXXX";
    int fd = mkstemp(tmpl.data());
    if (fd < 0)
        throw Error(path.string() + ": cannot create a temporary file: " + std::strerror(errno));
    size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(tmpl.c_str());
            throw Error(path.string() + ": write failed: " + std::strerror(err));
        }
        done += static_cast<size_t>(n);
    }
    // mkstemp creates 0600; keep the mode of the file being replaced, else the usual 0644.
    struct stat old {};
    ::fchmod(fd, ::stat(path.c_str(), &old) == 0 ? (old.st_mode & 07777) : 0644);
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmpl.c_str());
        throw Error(path.string() + ": cannot flush: " + std::strerror(err));
    }
    if (std::rename(tmpl.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmpl.c_str());
        throw Error(path.string() + ": cannot replace: " + std::strerror(err));
    }
}

std::string readFile(const std::filesystem::path& path)
{
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw Error(path.string() + ": is a folder, not a file");
    if (!std::filesystem::exists(path, ec))
        throw Error(path.string() + ": no such file");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path.string() + ": cannot open for reading");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad())
        throw Error(path.string() + ": read failed");
    return buffer.str();
}

} // namespace basis

namespace basis {

nlohmann::json readJsonFile(const std::filesystem::path& path)
{
    const std::string text = readFile(path);
    return parseJson(path, text.data(), text.size());
}

} // namespace basis
