// The compiled part of Boost.Asio and Boost.Beast, once for the whole program: every target is
// built with BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION (CMakeLists.txt),
// so the headers declare these functions and this file defines them.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
