#include "nickname.hpp"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uspoof.h>

#include <memory>

namespace switchboard::chat {

namespace {

const icu::Normalizer2* nfkc() {
    static const icu::Normalizer2* const instance = [] {
        UErrorCode status = U_ZERO_ERROR;
        const auto* n = icu::Normalizer2::getNFKCInstance(status);
        return U_SUCCESS(status) ? n : nullptr;
    }();
    return instance;
}

// One checker for the process: ICU's checks on a configured checker are safe from several threads.
const USpoofChecker* spoof_checker() {
    static const std::unique_ptr<USpoofChecker, decltype(&uspoof_close)> checker = [] {
        UErrorCode status = U_ZERO_ERROR;
        USpoofChecker* sc = uspoof_open(&status);
        if (U_FAILURE(status)) return std::unique_ptr<USpoofChecker, decltype(&uspoof_close)>(nullptr, uspoof_close);
        uspoof_setChecks(sc, USPOOF_CONFUSABLE, &status);
        return std::unique_ptr<USpoofChecker, decltype(&uspoof_close)>(sc, uspoof_close);
    }();
    return checker.get();
}

icu::UnicodeString normalized(std::string_view text) {
    auto s = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
    UErrorCode status = U_ZERO_ERROR;
    if (const auto* n = nfkc()) {
        auto out = n->normalize(s, status);
        if (U_SUCCESS(status)) return out;
    }
    return s;
}

// Characters a nickname may not hold: they are invisible, reorder what follows, or mean nothing yet.
bool forbidden(UChar32 c) {
    switch (u_charType(c)) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR: // zero-width joiners and spaces, bidi controls, soft hyphen, BOM
    case U_UNASSIGNED:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR: return true;
    default: break;
    }
    return c == '@' || c == 0xFFFD || u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) ||
           u_hasBinaryProperty(c, UCHAR_BIDI_CONTROL) || (u_isUWhiteSpace(c) && c != ' ');
}

} // namespace

void prepare_nicknames() {
    std::string why;
    (void)normalize_nickname("warm-up", 32, why);
    (void)nickname_key("warm-up");
}

std::optional<std::string> normalize_nickname(std::string_view raw, std::size_t max_characters, std::string& why) {
    const auto form = normalized(raw);
    const auto length = static_cast<std::size_t>(form.countChar32());
    if (length == 0 || length > max_characters) {
        why = "a nickname is 1 to " + std::to_string(max_characters) + " characters";
        return std::nullopt;
    }
    for (int32_t i = 0; i < form.length(); i = form.moveIndex32(i, 1)) {
        if (forbidden(form.char32At(i))) {
            why = "a nickname may not hold '@', control, invisible or direction-changing characters";
            return std::nullopt;
        }
    }
    if (form.charAt(0) == ' ' || form.charAt(form.length() - 1) == ' ' || form.indexOf(u"  ") >= 0) {
        why = "a nickname does not start or end with a space, nor hold two in a row";
        return std::nullopt;
    }
    std::string out;
    form.toUTF8String(out);
    return out;
}

std::string nickname_key(std::string_view nickname) {
    auto form = normalized(nickname);
    form.foldCase();
    icu::UnicodeString skeleton;
    UErrorCode status = U_ZERO_ERROR;
    if (const auto* checker = spoof_checker()) uspoof_getSkeletonUnicodeString(checker, 0, form, skeleton, &status);
    if (!spoof_checker() || U_FAILURE(status)) skeleton = form;
    skeleton.foldCase(); // a skeleton may bring capitals back
    std::string key = "@";
    skeleton.toUTF8String(key);
    return key;
}

} // namespace switchboard::chat
